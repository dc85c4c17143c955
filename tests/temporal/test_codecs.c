/* test_codecs.c - the test codecs of test_codecs.h. Test code only. */
#include "test_codecs.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* What a codec reports: the code and a text for the task or activity that fails with it. */
static int set_err(tc_error *err, int code, const char *encoding, const char *what)
{
    if (err) {
        err->code = code;
        err->grpc_status = 0;
        snprintf(err->text, sizeof err->text, "%s: %s", encoding, what);
    }
    return code;
}

static bool is(const tc_payload *p, const char *encoding)
{
    const tc_payload_meta *m = tc_payload_meta_get(p, "encoding");
    return m && m->len == strlen(encoding) && memcmp(m->value, encoding, m->len) == 0;
}

/* Serializes in, lets fn transform it into a new buffer, and writes the result as encoding. */
static int wrap(const tc_payload *in, tc_payload *out, const char *encoding,
                int (*fn)(const uint8_t *, size_t, uint8_t **, size_t *, void *), void *user,
                tc_error *err)
{
    uint8_t *raw = NULL, *done = NULL;
    size_t n = 0, m = 0;
    int rc = tc_payload_marshal(in, &raw, &n);
    if (rc == TC_OK)
        rc = fn(raw, n, &done, &m, user);
    if (rc == TC_OK)
        rc = tc_payload_meta_set(out, "encoding", encoding, strlen(encoding));
    if (rc == TC_OK)
        rc = tc_payload_set_data(out, done, m);
    free(raw);
    free(done);
    return rc == TC_OK ? TC_OK : set_err(err, rc, encoding, "cannot encode");
}

/* Undoes wrap: fn turns the data back into a serialized payload. */
static int unwrap(const tc_payload *in, tc_payload *out, const char *encoding,
                  int (*fn)(const uint8_t *, size_t, uint8_t **, size_t *, void *), void *user,
                  tc_error *err)
{
    if (!is(in, encoding))
        return TC_OK; /* not ours: passes on */
    uint8_t *raw = NULL;
    size_t n = 0;
    int rc = fn(in->data, in->len, &raw, &n, user);
    if (rc != TC_OK) {
        free(raw);
        return set_err(err, rc, encoding,
                       rc == TC_ERR_PROTOCOL ? "authentication failed" : "corrupt data");
    }
    rc = tc_payload_unmarshal(raw, n, out, err);
    free(raw);
    return rc;
}

/* ---- AES-256-GCM ---- */

static int gcm(const uint8_t *in, size_t n, uint8_t **out, size_t *m, void *user, bool enc)
{
    const tc_test_key *k = user;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, rc = TC_ERR_PROTOCOL;
    if (!c)
        return TC_ERR_NOMEM;
    if (enc) {
        uint8_t *buf = malloc(12 + n + 16);
        if (buf && RAND_bytes(buf, 12) == 1 &&
            EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->key, buf) == 1 &&
            EVP_EncryptUpdate(c, buf + 12, &len, in, (int)n) == 1 &&
            EVP_EncryptFinal_ex(c, buf + 12 + len, &fin) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, buf + 12 + len + fin) == 1) {
            *out = buf;
            *m = 12 + (size_t)(len + fin) + 16;
            rc = TC_OK;
        } else {
            free(buf);
        }
    } else if (n >= 28) {
        uint8_t *buf = malloc(n);
        uint8_t tag[16];
        memcpy(tag, in + n - 16, 16);
        if (buf && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->key, in) == 1 &&
            EVP_DecryptUpdate(c, buf, &len, in + 12, (int)(n - 28)) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
            EVP_DecryptFinal_ex(c, buf + len, &fin) == 1) {
            *out = buf;
            *m = (size_t)(len + fin);
            rc = TC_OK;
        } else {
            free(buf);
        }
    }
    EVP_CIPHER_CTX_free(c);
    return rc;
}

static int seal(const uint8_t *in, size_t n, uint8_t **out, size_t *m, void *user)
{
    return gcm(in, n, out, m, user, true);
}

static int open_sealed(const uint8_t *in, size_t n, uint8_t **out, size_t *m, void *user)
{
    return gcm(in, n, out, m, user, false);
}

int tc_test_encrypt(const tc_payload *in, tc_payload *out, void *user, tc_error *err)
{
    const tc_test_key *k = user;
    int rc = wrap(in, out, "binary/encrypted", seal, user, err);
    if (rc == TC_OK)
        rc = tc_payload_meta_set(out, "encryption-key-id", k->key_id, strlen(k->key_id));
    return rc;
}

int tc_test_decrypt(const tc_payload *in, tc_payload *out, void *user, tc_error *err)
{
    return unwrap(in, out, "binary/encrypted", open_sealed, user, err);
}

/* ---- zlib ---- */

static int deflate_all(const uint8_t *in, size_t n, uint8_t **out, size_t *m, void *user)
{
    (void)user;
    uLongf cap = compressBound((uLong)n);
    uint8_t *buf = malloc(cap);
    if (!buf || compress2(buf, &cap, in, (uLong)n, Z_BEST_COMPRESSION) != Z_OK) {
        free(buf);
        return TC_ERR_NOMEM;
    }
    *out = buf;
    *m = cap;
    return TC_OK;
}

static int inflate_all(const uint8_t *in, size_t n, uint8_t **out, size_t *m, void *user)
{
    (void)user;
    for (uLongf cap = n * 4 + 64; cap < (64u << 20); cap *= 4) {
        uint8_t *buf = malloc(cap);
        uLongf got = cap;
        if (!buf)
            return TC_ERR_NOMEM;
        int zr = uncompress(buf, &got, in, (uLong)n);
        if (zr == Z_OK) {
            *out = buf;
            *m = got;
            return TC_OK;
        }
        free(buf);
        if (zr != Z_BUF_ERROR)
            return TC_ERR_INVALID;
    }
    return TC_ERR_INVALID;
}

int tc_test_compress(const tc_payload *in, tc_payload *out, void *user, tc_error *err)
{
    return wrap(in, out, "binary/zlib", deflate_all, user, err);
}

int tc_test_decompress(const tc_payload *in, tc_payload *out, void *user, tc_error *err)
{
    return unwrap(in, out, "binary/zlib", inflate_all, user, err);
}

/* ---- base64 ("my-encoding") ---- */

static const char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int to_b64(const uint8_t *in, size_t n, uint8_t **out, size_t *m, void *user)
{
    (void)user;
    char *s = malloc((n + 2) / 3 * 4 + 1);
    size_t o = 0;
    if (!s)
        return TC_ERR_NOMEM;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        s[o++] = k_b64[v >> 18 & 63];
        s[o++] = k_b64[v >> 12 & 63];
        s[o++] = i + 1 < n ? k_b64[v >> 6 & 63] : '=';
        s[o++] = i + 2 < n ? k_b64[v & 63] : '=';
    }
    *out = (uint8_t *)s;
    *m = o;
    return TC_OK;
}

static int from_b64(const uint8_t *in, size_t n, uint8_t **out, size_t *m, void *user)
{
    (void)user;
    uint8_t *buf = malloc(n / 4 * 3 + 3);
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    if (!buf)
        return TC_ERR_NOMEM;
    for (size_t i = 0; i < n && in[i] != '='; i++) {
        const char *p = memchr(k_b64, in[i], 64);
        if (!p) {
            free(buf);
            return TC_ERR_INVALID;
        }
        acc = acc << 6 | (uint32_t)(p - k_b64);
        if ((bits += 6) >= 8)
            buf[o++] = (uint8_t)(acc >> (bits -= 8));
    }
    *out = buf;
    *m = o;
    return TC_OK;
}

int tc_test_b64_encode(const tc_payload *in, tc_payload *out, void *user, tc_error *err)
{
    return wrap(in, out, "my-encoding", to_b64, user, err);
}

int tc_test_b64_decode(const tc_payload *in, tc_payload *out, void *user, tc_error *err)
{
    return unwrap(in, out, "my-encoding", from_b64, user, err);
}
