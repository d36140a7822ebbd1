/* medtwin twin whatif: candidate actions run on the twin's ensemble. */
#include "cli.h"

int cmd_twin_whatif(int argc, char **argv)
{
  (void)argc, (void)argv;
  return cli_fail(EXIT_USAGE, "twin whatif: not available yet");
}
