/* Removing secrets by structure: the password field of a database URL and
 * the value of `password=`-style parameters are replaced with *** where they
 * sit, found by parsing the text, never by searching it for the secret's
 * value (which would also hide every word that happens to contain it, and so
 * tell readers what it is). Used by the configuration printer, the URL
 * parser's messages and the database layer's error messages. Owner: core. */
#ifndef MT_CORE_REDACT_H
#define MT_CORE_REDACT_H

#include <stddef.h>

/* Returns a malloc'ed copy of the database URL url with its password
 * replaced by ***; the caller frees it. NULL gives "". The password is what
 * db_url_parse would take as one: after "scheme://", the user-info ends at
 * the last '@' (so an unencoded '@', ':', '/' or '?' in a password is
 * covered) and the password starts after its first ':'; sqlite URLs carry
 * none. Query parameters with a secret name (see mt_redact_text) have their
 * value replaced up to the next '&'. Works on unparseable text too (no
 * "://": the whole text is read as user-info and host), and never masks less
 * than the parser would read as the password. An empty password stays empty. */
char *mt_redact_url(const char *url);

/* Rewrites the NUL-terminated message in text (a buffer of cap bytes) with
 * secrets replaced by ***, for messages that may quote a connection string
 * (a driver's error, say):
 *   - the password of every "scheme://user:password@host" URL in it, the URL
 *     ending at white space or a quote;
 *   - the value of every key=value (also key = value) whose key, ignoring
 *     case, is "pass" or "pwd" or contains "password", "passwd" or "secret";
 *     the value is a '...' or "..." string (backslash escapes) or runs to the
 *     next white space (to the next '&' or '#' inside a URL query).
 * Anything else is left exactly as it was. A result longer than cap - 1
 * bytes is cut at the end (after the replacement, so a cut never shows a
 * secret). cap 0 does nothing. */
void mt_redact_text(char *text, size_t cap);

#endif
