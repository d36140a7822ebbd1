/* Markup escaping (escape.h). */
#include "core/escape.h"

void mt_markup_escape(FILE *f, const char *s)
{
  for (; s && *s; s++)
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(*s, f);
    }
}
