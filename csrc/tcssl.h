#ifndef TCSSL_H
#define TCSSL_H

#include "compat.h"

#ifndef TCSSL_VERSION
#define TCSSL_VERSION "0.1.0"
#endif

/* The deepest nesting of arrays and objects the JSON reader and writer take (json.c, json_write.c). */
#define JSON_MAX_DEPTH 1000

/* http.c: registers the session constructor and metatable into the module table on top;
 * crypto is the absolute index of the signing context's userdata (session:call signs). */
void tcssl_open_http(lua_State *L, int crypto);

/* x509.c: registers the certificate and key helpers into the module table on top. */
void tcssl_open_x509(lua_State *L);

/* zip.c: registers unzip and zip (libzip) into the module table on top. */
void tcssl_open_zip(lua_State *L);

/* json.c: registers json_decode, the JSON reader behind tcssl.json.decode. */
void tcssl_open_json(lua_State *L);
/* json_write.c: registers json_encode, the JSON writer behind tcssl.json.encode. */
void tcssl_open_json_write(lua_State *L);

/* json.c: reads the JSON text into one value pushed on the stack (null_idx and mt_idx are
 * absolute indexes of the null value and the array metatable): returns 1, or 2 with nil and
 * the message pushed (json_decode's results). With plan_idx, the absolute index of a compiled
 * plan (tidy.c's json_plan, checked by tcssl_json_plan_arg; 0 for none), a value is followed by what the plan's test found
 * (json_decode's checked) and 2 is returned. Raises only on a Lua memory error. */
int tcssl_json_read(lua_State *L, const char *text, size_t len, int null_idx, int mt_idx, int plan_idx);

/* json.c: idx when the argument there is a compiled plan, 0 when it is nil or absent; raises
 * an argument error for anything else. */
int tcssl_json_plan_arg(lua_State *L, int idx);

/* tidy.c: registers conform, the type test tcssl.schema runs over a decoded response. */
void tcssl_open_tidy(lua_State *L);

/* files.c: registers write_file, the atomic writer for keys and certificates. */
void tcssl_open_files(lua_State *L);

#endif
