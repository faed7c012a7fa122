#ifndef TCSSL_H
#define TCSSL_H

#include "compat.h"

#ifndef TCSSL_VERSION
#define TCSSL_VERSION "0.1.0"
#endif

/* http.c: registers the session constructor and metatable into the module table on top. */
void tcssl_open_http(lua_State *L);

/* x509.c: registers the certificate and key helpers into the module table on top. */
void tcssl_open_x509(lua_State *L);

/* zip.c: registers unzip and zip (libzip) into the module table on top. */
void tcssl_open_zip(lua_State *L);

/* json.c: registers json_decode, the JSON reader behind tcssl.json.decode. */
void tcssl_open_json(lua_State *L);

/* tidy.c: registers conform, the type test tcssl.schema runs over a decoded response. */
void tcssl_open_tidy(lua_State *L);

/* files.c: registers write_file, the atomic writer for keys and certificates. */
void tcssl_open_files(lua_State *L);

#endif
