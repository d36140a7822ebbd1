/*
** medtwin serve: the server in the foreground until SIGTERM or SIGINT, then
** a graceful stop (requests under way finish). docs/API.md.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "medtwin/error.h"
#include "medtwin/server.h"

static const char usage_text[] =
    "usage: medtwin serve [--listen HOST:PORT] [--data DIR]\n"
    "  --listen HOST:PORT  IPv4 address and port (default 127.0.0.1:8080;\n"
    "                      port 0 picks a free one, printed on start)\n"
    "  --data DIR          the store's directory (default medtwin-data)\n";

typedef struct sopts {
  mt_server_config cfg;
  char host[64];
  int json;
} sopts;

static int serve_opt(void *ctx, const char *a, const char *v)
{
  sopts *o = ctx;
  if (!strcmp(a, "--data")) {
    o->cfg.data_dir = v;
    return 0;
  }
  if (strcmp(a, "--listen"))
    return cli_fail(EXIT_USAGE, "serve: unknown option '%s'", a);
  const char *colon = strrchr(v, ':');
  char *end;
  long port = colon ? strtol(colon + 1, &end, 10) : -1;
  if (!colon || colon == v || (size_t)(colon - v) >= sizeof o->host ||
      end == colon + 1 || *end || port < 0 || port > 65535)
    return cli_fail(EXIT_USAGE, "serve: --listen: expected HOST:PORT "
                    "(port 0-65535), got '%s'", v);
  snprintf(o->host, sizeof o->host, "%.*s", (int)(colon - v), v);
  o->cfg.host = o->host;
  o->cfg.port = (int)port;
  return 0;
}

int cmd_serve(int argc, char **argv)
{
  sopts o;
  memset(&o, 0, sizeof o);
  mt_server_config_init(&o.cfg);
  int rc = cli_parse(argc, argv, "serve", usage_text, &o.json, serve_opt, &o);
  if (rc)
    return rc;
  /* the daemon's threads inherit a mask that leaves the stop signals to
  ** sigwait here */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  char err[MT_ERRMSG_MAX];
  mt_server *s;
  int port;
  rc = mt_server_start(&o.cfg, &s, &port, err, sizeof err);
  if (rc)
    return cli_fail(rc == MT_EINVAL ? EXIT_USAGE : EXIT_RUNTIME, "%s", err);
  printf("medtwin %s serving on http://%s:%d (data in %s)\n", MT_VERSION,
         o.cfg.host, port, o.cfg.data_dir);
  fflush(stdout);
  int sig;
  sigwait(&stop, &sig);
  mt_server_stop(s);
  printf("medtwin serve: stopped on %s\n", sig == SIGTERM ? "SIGTERM"
                                                          : "SIGINT");
  return EXIT_OK;
}
