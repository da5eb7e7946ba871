/* Foundation.h: NOT Apple's header.  The few declarations runtime/device_metal.m
 * uses, written for this project from the documented API, so that clang on
 * Linux can syntax-check the device (ARC bridging included) in
 * e2e_metal_device_syntax.  It proves the file parses, not that it
 * compiles against the real SDK. */
#include <stddef.h>
#include <stdint.h>
typedef unsigned long NSUInteger;
#define NSUIntegerMax ((NSUInteger)-1)
typedef signed char BOOL;
#define YES ((BOOL)1)
#define NO ((BOOL)0)
#define nil ((id)0)
typedef const void *CFTypeRef;
void CFRelease(CFTypeRef);
__attribute__((objc_root_class)) @interface NSObject
+ (instancetype)new;
+ (instancetype)alloc;
- (instancetype)init;
@end
@interface NSString : NSObject
- (instancetype)initWithBytes:(const void *)b length:(NSUInteger)n encoding:(NSUInteger)e;
+ (instancetype)stringWithUTF8String:(const char *)s;
- (const char *)UTF8String;
@end
#define NSUTF8StringEncoding 4
@interface NSError : NSObject
- (NSString *)localizedDescription;
@end
static inline CFTypeRef CFBridgingRetain(id x) { return (__bridge_retained CFTypeRef)x; }
static inline id CFBridgingRelease(CFTypeRef x) { return (__bridge_transfer id)x; }
typedef struct dispatch_data_s *dispatch_data_t;
dispatch_data_t dispatch_data_create(const void *, size_t, void *, void *);
#define DISPATCH_DATA_DESTRUCTOR_DEFAULT NULL
