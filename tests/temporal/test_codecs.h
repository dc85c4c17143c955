/* test_codecs.h - payload codecs for tests and the features worker: AES-256-GCM encryption
 * (OpenSSL libcrypto), zlib compression, and the base64 "my-encoding" codec of
 * temporalio/features' data_converter/codec. Each wraps the whole serialized payload, as the
 * official SDKs' samples do. Test code only. */
#ifndef TEST_CODECS_H
#define TEST_CODECS_H

#include "temporal.h"

/* "binary/encrypted": data = 12-byte nonce || AES-256-GCM ciphertext || 16-byte tag, metadata
 * "encryption-key-id" = key_id. user: a tc_test_key (its key must be 32 bytes). Decoding with
 * a different key (or altered data) fails with "authentication failed". */
typedef struct tc_test_key {
    const char *key_id;
    unsigned char key[32];
} tc_test_key;
int tc_test_encrypt(const tc_payload *in, tc_payload *out, void *user, tc_error *err);
int tc_test_decrypt(const tc_payload *in, tc_payload *out, void *user, tc_error *err);

/* "binary/zlib": data = zlib compress(serialized payload). user unused. */
int tc_test_compress(const tc_payload *in, tc_payload *out, void *user, tc_error *err);
int tc_test_decompress(const tc_payload *in, tc_payload *out, void *user, tc_error *err);

/* "my-encoding": data = base64(serialized payload) (temporalio/features data_converter/codec). */
int tc_test_b64_encode(const tc_payload *in, tc_payload *out, void *user, tc_error *err);
int tc_test_b64_decode(const tc_payload *in, tc_payload *out, void *user, tc_error *err);

#endif
