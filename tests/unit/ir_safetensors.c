/* ir_safetensors.c: the safetensors reader/writer against hand-built
 * files, round trips, and corrupted or random input (which must be
 * rejected with a message, never crash). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/safetensors.h"

static char tmpdir[256];

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ltc_st_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}
static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static const char *tpath(const char *name) {
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

/* Build a file image: 8-byte length, header text padded with spaces to a
 * multiple of 8 (so the data stay aligned), data. */
static unsigned char *image(const char *header, const void *data, size_t dlen, size_t *n) {
    size_t h0 = strlen(header), h = (h0 + 7) / 8 * 8;
    *n = 8 + h + dlen;
    unsigned char *b = malloc(*n ? *n : 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h0);
    memset(b + 8 + h0, ' ', h - h0);
    if (dlen) memcpy(b + 8 + h, data, dlen);
    return b;
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    cr_assert_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* Expect st_open_memory to fail with a message containing `want`. */
static void expect_reject(const char *header, const void *data, size_t dlen, const char *want) {
    size_t n;
    unsigned char *b = image(header, data, dlen, &n);
    StFile f;
    char err[512] = "";
    int rc = st_open_memory(b, n, &f, err, sizeof err);
    cr_expect_eq(rc, -1, "accepted bad header %s", header);
    cr_expect(strstr(err, want) != NULL, "message '%s' lacks '%s'", err, want);
    free(b);
}

TestSuite(safetensors, .init = setup, .fini = teardown);

Test(safetensors, reads_hand_built_file) {
    float a[6] = {1, 2, 3, 4, 5, 6};
    int64_t ids[2] = {7, -9};
    unsigned char both[32];
    memcpy(both, ids, 16);
    memcpy(both + 16, a, 16);   /* only 4 floats: shape [2,2] */
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,32]},"
                      "\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}   ";
    size_t n;
    unsigned char *b = image(hdr, both, 32, &n);
    StFile f;
    char err[256];
    cr_assert_eq(st_open_memory(b, n, &f, err, sizeof err), 0, "%s", err);
    cr_assert_eq(f.n, 2);
    cr_expect_str_eq(f.t[0].name, "w");
    cr_expect_str_eq(f.t[1].name, "ids");
    const StTensor *w = st_find(&f, "w");
    cr_assert_not_null(w);
    cr_expect_eq(w->dtype, ST_F32);
    cr_expect_eq(w->rank, 2);
    cr_expect_eq(w->shape[0], 2);
    cr_expect_eq(w->nbytes, 16);
    cr_expect_eq(((const float *)w->data)[3], 4.0f);
    const StTensor *id = st_find(&f, "ids");
    cr_expect_eq(((const int64_t *)id->data)[1], -9);
    cr_expect_null(st_find(&f, "nope"));
    cr_assert_not_null(f.meta_json);
    cr_expect_str_eq(f.meta_json, "{\"format\":\"pt\"}");
    st_close(&f);
    free(b);
}

Test(safetensors, writer_layout_matches_reference) {
    /* Expected bytes written by hand: header in the given order, compact
     * JSON, padded with spaces to a multiple of 8, offsets contiguous. */
    float x[3] = {1.5f, -2.0f, 0.25f};
    uint8_t m[2] = {1, 0};
    StTensor ts[2] = {
        {.name = "x", .dtype = ST_F32, .rank = 1, .shape = {3}, .data = x, .nbytes = 12},
        {.name = "m", .dtype = ST_BOOL, .rank = 2, .shape = {1, 2}, .data = m, .nbytes = 2},
    };
    const char *meta[] = {"format", "pt"};
    char err[256];
    cr_assert_eq(st_write(tpath("a.st"), ts, 2, meta, 1, err, sizeof err), 0, "%s", err);
    size_t n;
    unsigned char *b = slurp(tpath("a.st"), &n);
    const char *want = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                       "\"m\":{\"dtype\":\"BOOL\",\"shape\":[1,2],\"data_offsets\":[12,14]}}";
    size_t wl = strlen(want), padded = (wl + 7) / 8 * 8;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    cr_assert_eq(hl, padded);
    cr_expect_eq(memcmp(b + 8, want, wl), 0, "header: %.*s", (int)hl, (char *)b + 8);
    for (size_t i = wl; i < padded; i++) cr_expect_eq(b[8 + i], ' ');
    cr_assert_eq(n, 8 + padded + 14);
    cr_expect_eq(memcmp(b + 8 + padded, x, 12), 0);
    cr_expect_eq(memcmp(b + 8 + padded + 12, m, 2), 0);
    free(b);
    /* no temporary left behind */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls '%s' | grep tmp)\"", tmpdir);
    cr_expect_eq(system(cmd), 0);
}

Test(safetensors, round_trip_random) {
    srand(1234);
    for (int iter = 0; iter < 20; iter++) {
        int n = rand() % 6;
        StTensor ts[6];
        void *bufs[6];
        char names[6][32];
        for (int i = 0; i < n; i++) {
            StDType dt = (StDType)(rand() % 5);
            int rank = rand() % 4;
            size_t numel = 1;
            ts[i] = (StTensor){0};
            for (int k = 0; k < rank; k++) {
                ts[i].shape[k] = rand() % 5;   /* zero-size dims included */
                numel *= (size_t)ts[i].shape[k];
            }
            snprintf(names[i], sizeof names[i], "layer%d.\"w\\%d", i, iter);
            ts[i].name = names[i];
            ts[i].dtype = dt;
            ts[i].rank = rank;
            ts[i].nbytes = numel * st_dtype_size(dt);
            bufs[i] = malloc(ts[i].nbytes + 1);
            for (size_t k = 0; k < ts[i].nbytes; k++) ((unsigned char *)bufs[i])[k] = (unsigned char)rand();
            ts[i].data = bufs[i];
        }
        const char *meta[] = {"k\"ey", "v\nal", "b", ""};
        char err[256];
        cr_assert_eq(st_write(tpath("r.st"), ts, n, meta, iter % 3, err, sizeof err), 0, "%s", err);
        StFile f;
        cr_assert_eq(st_open(tpath("r.st"), &f, err, sizeof err), 0, "%s", err);
        cr_assert_eq(f.n, n);
        for (int i = 0; i < n; i++) {
            cr_expect_str_eq(f.t[i].name, ts[i].name);
            cr_expect_eq(f.t[i].dtype, ts[i].dtype);
            cr_expect_eq(f.t[i].rank, ts[i].rank);
            for (int k = 0; k < ts[i].rank; k++) cr_expect_eq(f.t[i].shape[k], ts[i].shape[k]);
            cr_assert_eq(f.t[i].nbytes, ts[i].nbytes);
            cr_expect_eq(memcmp(f.t[i].data, ts[i].data, ts[i].nbytes), 0);
        }
        if (iter % 3) cr_expect_not_null(f.meta_json);
        else cr_expect_null(f.meta_json);
        st_close(&f);
        for (int i = 0; i < n; i++) free(bufs[i]);
    }
}

Test(safetensors, empty_and_scalar) {
    float s = 3.0f;
    StTensor t = {.name = "s", .dtype = ST_F32, .rank = 0, .data = &s, .nbytes = 4};
    char err[256];
    cr_assert_eq(st_write(tpath("s.st"), &t, 1, NULL, 0, err, sizeof err), 0, "%s", err);
    StFile f;
    cr_assert_eq(st_open(tpath("s.st"), &f, err, sizeof err), 0, "%s", err);
    cr_expect_eq(f.t[0].rank, 0);
    cr_expect_eq(*(const float *)f.t[0].data, 3.0f);
    st_close(&f);
    cr_assert_eq(st_write(tpath("e.st"), NULL, 0, NULL, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(st_open(tpath("e.st"), &f, err, sizeof err), 0, "%s", err);
    cr_expect_eq(f.n, 0);
    st_close(&f);
}

Test(safetensors, writer_rejects_bad_tensors) {
    float x[2] = {0};
    char err[256];
    StTensor wrong = {.name = "x", .dtype = ST_F32, .rank = 1, .shape = {3}, .data = x, .nbytes = 8};
    cr_expect_eq(st_write(tpath("b.st"), &wrong, 1, NULL, 0, err, sizeof err), -1);
    cr_expect(strstr(err, "'x'") != NULL, "%s", err);
    StTensor dup[2] = {{.name = "x", .dtype = ST_F32, .rank = 1, .shape = {2}, .data = x, .nbytes = 8},
                       {.name = "x", .dtype = ST_F32, .rank = 1, .shape = {2}, .data = x, .nbytes = 8}};
    cr_expect_eq(st_write(tpath("b.st"), dup, 2, NULL, 0, err, sizeof err), -1);
    cr_expect(strstr(err, "twice") != NULL, "%s", err);
    cr_expect_eq(access(tpath("b.st"), F_OK), -1, "a failed write left a file");
    /* unwritable directory: error, nothing created, old file untouched */
    cr_expect_eq(st_write("/nonexistent-dir/x.st", dup, 1, NULL, 0, err, sizeof err), -1);
    cr_expect(strstr(err, "cannot write") != NULL, "%s", err);
}

Test(safetensors, rejects_bad_headers) {
    unsigned char d[16] = {0};
    expect_reject("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", d, 16, "unsupported dtype 'F64'");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", d, 8, "beyond the data");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", d, 12, "needs 8");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", d, 12, "overlap");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", d, 16, "gap");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", d, 16, "cover 8");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", d, 8, "reversed");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", d, 0, "missing \"data_offsets\"");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", d, 8, "shape");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", d, 8, "shape");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", d, 4, "shape");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,8],\"data_offsets\":[0,8]}}", d, 8, "too large");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", d, 8, "unknown field 'x'");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", d, 16, "twice");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", d, 8, "malformed");
    expect_reject("{\"a\" {}}", d, 0, "malformed");
    expect_reject("[1,2]", d, 0, "malformed");
    expect_reject("{\"a\":{}} x", d, 0, "missing");
    expect_reject("{} x", d, 0, "malformed");
    expect_reject("{\"__metadata__\":{\"k\":1}}", d, 0, "strings");
    expect_reject("{\"\\u0000\":{}}", d, 0, "malformed");
    expect_reject("{\"a\\q\":{}}", d, 0, "malformed");
}

Test(safetensors, rejects_truncated_and_lengths) {
    char err[256];
    StFile f;
    unsigned char small[5] = {1, 2, 3, 4, 5};
    cr_expect_eq(st_open_memory(small, 5, &f, err, sizeof err), -1);
    cr_expect(strstr(err, "truncated") != NULL, "%s", err);
    unsigned char big[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}'};
    cr_expect_eq(st_open_memory(big, 16, &f, err, sizeof err), -1);
    cr_expect(strstr(err, "beyond the end") != NULL, "%s", err);
    unsigned char huge[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    cr_expect_eq(st_open_memory(huge, 16, &f, err, sizeof err), -1);
    cr_expect(strstr(err, "too large") != NULL, "%s", err);
    cr_expect_eq(st_open(tpath("missing.st"), &f, err, sizeof err), -1);
    cr_expect(strstr(err, "cannot open") != NULL, "%s", err);
    cr_expect_eq(st_open(tmpdir, &f, err, sizeof err), -1);
    cr_expect(strstr(err, "not a regular file") != NULL, "%s", err);
    FILE *e = fopen(tpath("empty.st"), "wb");
    fclose(e);
    cr_expect_eq(st_open(tpath("empty.st"), &f, err, sizeof err), -1);
    cr_expect(strstr(err, "truncated") != NULL, "%s", err);

    /* Every strict prefix of a valid file is rejected. */
    float x[5] = {1, 2, 3, 4, 5};
    StTensor t[2] = {{.name = "a", .dtype = ST_F32, .rank = 1, .shape = {3}, .data = x, .nbytes = 12},
                     {.name = "b", .dtype = ST_F32, .rank = 1, .shape = {2}, .data = x + 3, .nbytes = 8}};
    cr_assert_eq(st_write(tpath("p.st"), t, 2, NULL, 0, err, sizeof err), 0, "%s", err);
    size_t n;
    unsigned char *b = slurp(tpath("p.st"), &n);
    for (size_t k = 0; k < n; k++) {
        unsigned char *cut = malloc(k ? k : 1);
        memcpy(cut, b, k);
        cr_expect_eq(st_open_memory(cut, k, &f, err, sizeof err), -1, "prefix %zu accepted", k);
        free(cut);
    }
    cr_expect_eq(st_open_memory(b, n, &f, err, sizeof err), 0, "%s", err);
    st_close(&f);
    free(b);
}

/* Random garbage and random mutations of a valid file: any outcome but a
 * crash is fine; accepted files must be self-consistent. */
Test(safetensors, fuzz_never_crashes) {
    float x[8] = {0};
    StTensor t[2] = {{.name = "layer.w", .dtype = ST_F32, .rank = 2, .shape = {2, 2}, .data = x, .nbytes = 16},
                     {.name = "layer.b", .dtype = ST_I64, .rank = 1, .shape = {2}, .data = x + 4, .nbytes = 16}};
    const char *meta[] = {"format", "pt"};
    char err[256];
    cr_assert_eq(st_write(tpath("f.st"), t, 2, meta, 1, err, sizeof err), 0, "%s", err);
    size_t n;
    unsigned char *orig = slurp(tpath("f.st"), &n);
    unsigned seed = 42;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = n;
        unsigned char *b = malloc(n + 64);
        if (iter < 2000) {                         /* pure garbage with a plausible length */
            len = (size_t)(rand_r(&seed) % 128);
            for (size_t k = 0; k < len; k++) b[k] = (unsigned char)rand_r(&seed);
            if (len >= 8) {
                uint64_t h = (uint64_t)(rand_r(&seed) % (len - 7));
                for (int k = 0; k < 8; k++) b[k] = (unsigned char)(h >> (8 * k));
            }
        } else {                                   /* mutate a few bytes */
            memcpy(b, orig, n);
            int muts = 1 + rand_r(&seed) % 4;
            for (int m = 0; m < muts; m++) {
                size_t at = (size_t)rand_r(&seed) % n;
                static const char pick[] = "{}[],:\"\\0123456789 FIBLu";
                b[at] = rand_r(&seed) % 2 ? (unsigned char)rand_r(&seed)
                                          : (unsigned char)pick[rand_r(&seed) % (sizeof pick - 1)];
            }
            if (rand_r(&seed) % 8 == 0) len = (size_t)rand_r(&seed) % n;
        }
        StFile f;
        if (st_open_memory(b, len, &f, err, sizeof err) == 0) {
            for (int i = 0; i < f.n; i++) {
                const unsigned char *p = f.t[i].data;
                cr_assert(p >= b && p + f.t[i].nbytes <= b + len);
            }
            st_close(&f);
        } else {
            cr_assert(err[0] != 0);
        }
        free(b);
    }
    free(orig);
}

/* Metadata pairs read back by key (the runtime's "random weights" mark). */
Test(safetensors, metadata_by_key) {
    float x[2] = {1, 2};
    StTensor t = {"x", ST_F32, 1, {2}, x, sizeof x};
    const char *meta[] = {"format", "pt", ST_META_INIT, ST_META_INIT_RANDOM};
    char err[256];
    cr_assert_eq(st_write(tpath("m.st"), &t, 1, meta, 2, err, sizeof err), 0, "%s", err);
    StFile f;
    cr_assert_eq(st_open(tpath("m.st"), &f, err, sizeof err), 0, "%s", err);
    cr_expect_eq(f.nmeta, 2);
    cr_expect_str_eq(st_meta(&f, "format"), "pt");
    cr_expect_str_eq(st_meta(&f, "lispetorchc.init"), "random");
    cr_expect_null(st_meta(&f, "producer"));
    st_close(&f);
    /* a hand-written header: escaped strings, no metadata at all */
    const char hdr[] = "{\"__metadata__\":{\"a\\\"b\":\"c\\\\d\"},\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}";
    unsigned char buf[256];
    size_t hl = sizeof hdr - 1;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    cr_assert_eq(st_open_memory(buf, 8 + hl, &f, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(st_meta(&f, "a\"b"), "c\\d");
    st_close(&f);
    cr_assert_eq(st_write(tpath("n.st"), &t, 1, NULL, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(st_open(tpath("n.st"), &f, err, sizeof err), 0, "%s", err);
    cr_expect_null(st_meta(&f, ST_META_INIT));
    st_close(&f);
}
