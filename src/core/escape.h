/* Text into HTML, SVG and XML documents, shared by every page medtwin
** writes (the SVG plots, the trial report). */
#ifndef MT_CORE_ESCAPE_H
#define MT_CORE_ESCAPE_H

#include <stdio.h>

/* s into f with & < > " ' as character references (&#39; for the
** apostrophe, valid in HTML 4 and 5 and in XML alike), safe in text and in
** quoted attribute values; NULL writes nothing. */
void mt_markup_escape(FILE *f, const char *s);

#endif
