/* ir_strbuf.c: StrBuf does not end the process when it cannot grow
 * (support/strbuf.c): it keeps what it had, sets oom, and a plan blob
 * written into such a buffer is refused. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "support/support.h"

Test(strbuf, grows_and_formats) {
    StrBuf b = {0};
    for (int i = 0; i < 1000; i++) sb_printf(&b, "%d,", i);
    cr_assert(!b.oom);
    cr_assert(strncmp(b.s, "0,1,2,", 6) == 0);
    cr_assert_eq(b.len, strlen(b.s));
    sb_free(&b);
}

Test(strbuf, a_size_that_would_overflow_sets_oom) {
    StrBuf b = {0};
    sb_puts(&b, "kept");
    size_t len = b.len;
    b.len = SIZE_MAX - 2;           /* as if nearly all of memory were used */
    sb_puts(&b, "abc");             /* len + 3 + 1 overflows: refused, not wrapped */
    cr_assert(b.oom);
    b.len = len;
    sb_putc(&b, 'x');               /* after oom nothing more is added */
    cr_assert_str_eq(b.s, "kept");
    sb_free(&b);
    cr_assert(!b.oom);
}
