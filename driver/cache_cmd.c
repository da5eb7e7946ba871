/* cache_cmd.c: `lispetorchc cache`: the disk cache of compiled regions
 * (engine/disk_cache.h): show its directory, entries, size and bound;
 * prune it to a bound (least recently used first); clear our entries. */
#include "driver/driver.h"

#include <inttypes.h>
#include <string.h>

#include "engine/disk_cache.h"

int driver_cache(Driver *d) {
    DiskCache c;
    LtcDiag diag;
    memset(&diag, 0, sizeof diag);
    /* also where LTC_CACHE=off keeps runs from using it */
    if (disk_cache_locate(&c, &diag) != 0) { drv_diag(d, &diag); return EXIT_ERROR; }
    int rc = 0, n = 0, removed = 0;
    uint64_t bytes = 0;
    const char *act = d->o.cache_action;
    if (strcmp(act, "prune") == 0) {
        uint64_t max = d->o.cache_max_set ? d->o.cache_max : c.max_bytes;
        rc = disk_cache_prune(&c, max, &removed, &diag);
        if (rc == 0) printf("removed %d entries (bound %" PRIu64 " bytes)\n", removed, max);
    } else if (strcmp(act, "clear") == 0) {
        rc = disk_cache_clear(&c, &removed, &diag);
        if (rc == 0) printf("removed %d files\n", removed);
    }
    if (rc == 0) rc = disk_cache_stats(&c, &n, &bytes, &diag);
    if (rc == 0) {
        printf("directory: %s\n", c.dir);
        printf("entries: %d\n", n);
        printf("size: %" PRIu64 " bytes\n", bytes);
        printf("bound: %" PRIu64 " bytes\n", c.max_bytes);
    }
    disk_cache_free(&c);
    if (rc != 0) { drv_diag(d, &diag); return EXIT_ERROR; }
    return EXIT_OK;
}
