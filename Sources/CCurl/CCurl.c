#include "CCurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[512];

static void load(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(failure, sizeof failure, "libcurl.so.4 cannot be loaded: %s", dlerror());
        return;
    }
#define FIND(field, symbol)                                                                   \
    do {                                                                                      \
        *(void **)(&curl.field) = dlsym(library, symbol);                                     \
        if (!curl.field) {                                                                    \
            snprintf(failure, sizeof failure, "libcurl.so.4 has no %s (7.75 or newer needed)", symbol); \
            return;                                                                           \
        }                                                                                     \
    } while (0)
    FIND(global_init, "curl_global_init");
    FIND(easy_init, "curl_easy_init");
    FIND(easy_cleanup, "curl_easy_cleanup");
    FIND(easy_setopt, "curl_easy_setopt");
    FIND(easy_perform, "curl_easy_perform");
    FIND(easy_getinfo, "curl_easy_getinfo");
    FIND(easy_strerror, "curl_easy_strerror");
    FIND(slist_append, "curl_slist_append");
    FIND(slist_free_all, "curl_slist_free_all");
#undef FIND
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(failure, sizeof failure, "curl_global_init failed");
    }
}

const char *mlops_curl_load(void) {
    pthread_once(&once, load);
    return failure[0] ? failure : NULL;
}

CURL *mlops_curl_easy_init(void) { return curl.easy_init(); }
void mlops_curl_easy_cleanup(CURL *handle) { curl.easy_cleanup(handle); }
CURLcode mlops_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode mlops_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode mlops_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode mlops_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl.easy_setopt(handle, option, value);
}
CURLcode mlops_curl_setopt_write_function(CURL *handle, mlops_curl_write_callback callback) {
    return curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}
CURLcode mlops_curl_setopt_header_function(CURL *handle, mlops_curl_write_callback callback) {
    return curl.easy_setopt(handle, CURLOPT_HEADERFUNCTION, callback);
}
CURLcode mlops_curl_perform(CURL *handle) { return curl.easy_perform(handle); }
long mlops_curl_response_code(CURL *handle) {
    long code = 0;
    curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
    return code;
}
const char *mlops_curl_strerror(CURLcode code) { return curl.easy_strerror(code); }
struct curl_slist *mlops_curl_slist_append(struct curl_slist *list, const char *line) {
    return curl.slist_append(list, line);
}
void mlops_curl_slist_free_all(struct curl_slist *list) { curl.slist_free_all(list); }
