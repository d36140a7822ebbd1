/* medtwin twin import: data exports into the stream format (docs/stream.md). */
#include "cli.h"

int cmd_twin_import(int argc, char **argv)
{
  (void)argc, (void)argv;
  return cli_fail(EXIT_USAGE, "twin import: not available yet");
}
