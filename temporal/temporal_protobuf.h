/* temporal_protobuf.h - protobuf-c messages as values of the Temporal C bridge: the converter
 * chain's binary/protobuf and json/protobuf payloads (messageType = the message's full name),
 * made from and read into messages of descriptors the caller gives. Include after temporal.h;
 * needs protobuf-c's headers (the library links protobuf-c anyway). */
#ifndef TEMPORAL_PROTOBUF_H
#define TEMPORAL_PROTOBUF_H

#include <protobuf-c/protobuf-c.h>

#include "temporal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The value text of m (malloc'd, the caller frees), to pass wherever a value is taken: a
 * binary/protobuf payload (m serialized), or with json true a json/protobuf one (m in the proto3
 * JSON mapping: lowerCamelCase names, 64-bit integers as strings, bytes in base64, enums by
 * name, Timestamp and Duration as strings; default values left out). NULL out of memory. */
char *tc_value_from_message(const ProtobufCMessage *m, bool json);

/* Reads a value text into a new message of type d (*out owned: protobuf_c_message_free_unpacked):
 * a binary/protobuf or json/protobuf value whose messageType (when set) is d's name, or a plain
 * JSON object read with the proto3 JSON mapping. Returns TC_OK, TC_ERR_INVALID with the reason
 * (another encoding or message type, data that is not such a message), TC_ERR_NOMEM. */
int tc_value_to_message(const char *text, const ProtobufCMessageDescriptor *d,
                        ProtobufCMessage **out, tc_error *err);

#ifdef __cplusplus
}
#endif
#endif
