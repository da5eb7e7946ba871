/* safetensors.h: the safetensors format (8-byte little-endian header
 * length, a JSON header {"name": {"dtype","shape","data_offsets"}, ...,
 * "__metadata__": {...}}, then raw little-endian data).
 *
 * Self-contained (libc only) so the runtime inside model.so can use the
 * same reader.  dtype codes: "F32", "F16", "BF16", "I64", "BOOL". */
#ifndef LTC_SAFETENSORS_H
#define LTC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_RANK 8

typedef enum { ST_F32, ST_F16, ST_BF16, ST_I64, ST_BOOL } StDType;  /* same order as DType */

typedef struct StTensor {
    const char *name;
    StDType dtype;
    int rank;
    int64_t shape[ST_MAX_RANK];
    const void *data;           /* file layout: little-endian, C order */
    size_t nbytes;
} StTensor;

typedef struct StFile {
    StTensor *t; int n;
    char *names;                /* storage for names */
    void *map; size_t maplen;   /* mmap of the whole file */
    const char *meta_json;      /* the "__metadata__" object text or NULL */
    const char **meta_kv;       /* its pairs: meta_kv[2i] key, meta_kv[2i+1] value */
    int nmeta;
    /* name -> tensor: open addressing, slot = index + 1 (0 empty), so
     * st_find and the duplicate check are O(1), not a scan per name */
    int *index; size_t index_cap;
} StFile;

/* Write tensors (and optional metadata key/values) atomically.  Returns 0,
 * or -1 with a message in err. */
int  st_write(const char *path, const StTensor *ts, int n,
              const char *const *meta_kv, int nmeta, char *err, size_t errlen);
/* Open and validate (header bounds, offsets inside the file and not
 * overlapping, sizes matching shapes).  0 / -1 with message. */
int  st_open(const char *path, StFile *f, char *err, size_t errlen);
/* Same, from memory (not copied; must outlive f). */
int  st_open_memory(const void *buf, size_t n, StFile *f, char *err, size_t errlen);
void st_close(StFile *f);
const StTensor *st_find(const StFile *f, const char *name);
/* The value of metadata key `key`, or NULL when the file has none. */
const char *st_meta(const StFile *f, const char *key);

/* Metadata key and value marking a file whose tensors are the script's
 * random initialisation (written by a compile without --weights); the
 * runtime warns when it binds such a file (docs/runtime.md). */
#define ST_META_INIT "lispetorchc.init"
#define ST_META_INIT_RANDOM "random"
size_t st_dtype_size(StDType t);
const char *st_dtype_name(StDType t);

#endif
