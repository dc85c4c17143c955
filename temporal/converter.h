/* converter.h - the payload converter chain and payload codecs, private to the library
 * (converter.c: values to payloads and back; codec.c: codecs and the failure converter applied
 * to every payload of a call). Not public: temporal_payload.h is. */
#ifndef TEMPORAL_CONVERTER_H
#define TEMPORAL_CONVERTER_H

#include "temporal_internal.h"

/* Metadata a codec decode failure leaves on the payload it could not decode (with the reason
 * as its value), so that reading that payload fails with the reason, never a crash. */
#define TC_META_DECODE_ERROR "temporal-c-decode-error"

/* Base64 (RFC 4648): encode writes 4 * ceil(n / 3) characters and a NUL into out; decode
 * (standard or URL alphabet, padding optional) gives a malloc'd buffer. TC_ERR_INVALID on a
 * character outside the alphabet. */
size_t tc_base64_encode(const uint8_t *in, size_t n, char *out);
int tc_base64_decode(const char *in, size_t n, uint8_t **out, size_t *len);

/* Writes s escaped as the inside of a JSON string into out (NUL-terminated, at most cap bytes
 * with the NUL; stops early rather than overflow). Returns the characters written. */
size_t tc_json_escape(const char *s, char *out, size_t cap);

/* Writes text into b->p: "null" as binary/null, the reserved form as its encoding, any other
 * text as json/plain. Returns true. */
bool tc_pl_encode(tc_pl *b, const char *text);
void tc_pl_clear(tc_pl *b);

/* A payload to a value's JSON text (malloc'd): the inbound side of the chain. TC_ERR_PROTOCOL
 * naming the encoding (or the codec failure) when no converter reads it, TC_ERR_NOMEM. */
int tc_convert_decode(const tc_pb_payload *p, char **text, tc_error *err);

#endif
