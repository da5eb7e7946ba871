/* fuzz_seeds.c: writes seed inputs for the runtime fuzz targets into DIR:
 * DIR/plan/toy.plan (a plan blob), DIR/weights/toy.safetensors and
 * DIR/so/toy.so (a sealed toy model), from tests/unit/rt_testlib.h. */
#include <stdio.h>
#include <errno.h>
#include <sys/stat.h>

#include "tests/unit/rt_testlib.h"

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: fuzz_seeds DIR\n"); return 2; }
    char path[4200];
    const char *sub[3] = {"plan", "weights", "so"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", argv[1], sub[i]);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) { perror(path); return 1; }
    }
    Arena a;
    arena_init(&a);
    Plan *p[1] = {rt_toy_plan(&a)};
    StrBuf blob = {0};
    LtcDiag d = {0};
    if (plan_serialize(p, 1, &blob, &d) != 0) { fprintf(stderr, "%s\n", d.msg); return 1; }
    snprintf(path, sizeof path, "%s/plan/toy.plan", argv[1]);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(blob.s, 1, blob.len, f) != blob.len || fclose(f) != 0) { perror(path); return 1; }
    snprintf(path, sizeof path, "%s/weights/toy.safetensors", argv[1]);
    if (rt_write_weights(path, "layer.w", 4, ST_F32) != 0) { fprintf(stderr, "cannot write %s\n", path); return 1; }
    snprintf(path, sizeof path, "%s/so/toy.so", argv[1]);
    RtSoOpts o = rt_so_defaults();
    if (rt_build_so(path, p, 1, &o) != 0) { fprintf(stderr, "cannot build %s\n", path); return 1; }
    sb_free(&blob);
    arena_free(&a);
    return 0;
}
