/* mma_cubin.c: a CUDA source file -> an sm_90a cubin by NVRTC (scripts/gpu-check.sh prepare).
 *   mma_cubin in.cu out.cubin */
#include <nvrtc.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    FILE *f = fopen(argv[1], "rb"); fseek(f, 0, 2); long n = ftell(f); rewind(f);
    char *s = malloc(n + 1); fread(s, 1, n, f); s[n] = 0;
    nvrtcProgram p; nvrtcCreateProgram(&p, s, "k.cu", 0, 0, 0);
    const char *o[] = {"--gpu-architecture=sm_90a", "-std=c++17"};
    if (nvrtcCompileProgram(p, 2, o)) { size_t l; nvrtcGetProgramLogSize(p, &l); char *lg = malloc(l + 1); nvrtcGetProgramLog(p, lg); puts(lg); return 1; }
    size_t l; nvrtcGetCUBINSize(p, &l); char *c = malloc(l); nvrtcGetCUBIN(p, c);
    FILE *g = fopen(argv[2], "wb"); fwrite(c, 1, l, g); fclose(g); return 0;
}
