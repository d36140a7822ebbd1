/*
** Device streams over MQTT (docs/API.md). Not part of this build yet:
** --mqtt is refused at start.
*/
#include <stdio.h>

#include "server/internal.h"

int mqtt_start(mt_server *s, char *err, size_t errlen)
{
  snprintf(err, errlen, "serve: --mqtt %s: MQTT is not part of this build",
           s->cfg.mqtt);
  return MT_EINVAL;
}

void mqtt_stop(mt_server *s)
{
  (void)s;
}

void mqtt_alert(mt_server *s, const char *patient, const char *json)
{
  (void)s, (void)patient, (void)json;
}
