#ifndef MLOPS_CCURL_H
#define MLOPS_CCURL_H

#include <curl/curl.h>
#include <stddef.h>

/* libcurl, opened with dlopen("libcurl.so.4") on first use so that commands that never talk
   to S3 do not load it. mlops_curl_load returns NULL when it is ready, else why it is not. */
const char *mlops_curl_load(void);

/* The options S3Kit sets (curl's enum constants are built by macros Swift does not import). */
static const CURLoption MLOPS_CURLOPT_URL = CURLOPT_URL;
static const CURLoption MLOPS_CURLOPT_CUSTOMREQUEST = CURLOPT_CUSTOMREQUEST;
static const CURLoption MLOPS_CURLOPT_AWS_SIGV4 = CURLOPT_AWS_SIGV4;
static const CURLoption MLOPS_CURLOPT_USERNAME = CURLOPT_USERNAME;
static const CURLoption MLOPS_CURLOPT_PASSWORD = CURLOPT_PASSWORD;
static const CURLoption MLOPS_CURLOPT_CONNECTTIMEOUT = CURLOPT_CONNECTTIMEOUT;
static const CURLoption MLOPS_CURLOPT_HTTPGET = CURLOPT_HTTPGET;
static const CURLoption MLOPS_CURLOPT_HTTPHEADER = CURLOPT_HTTPHEADER;
static const CURLoption MLOPS_CURLOPT_WRITEDATA = CURLOPT_WRITEDATA;
static const CURLoption MLOPS_CURLOPT_POSTFIELDS = CURLOPT_POSTFIELDS;
static const CURLoption MLOPS_CURLOPT_POSTFIELDSIZE_LARGE = CURLOPT_POSTFIELDSIZE_LARGE;
static const CURLoption MLOPS_CURLOPT_HEADERDATA = CURLOPT_HEADERDATA;
static const CURLoption MLOPS_CURLOPT_NOBODY = CURLOPT_NOBODY;
static const CURLoption MLOPS_CURLOPT_LOW_SPEED_LIMIT = CURLOPT_LOW_SPEED_LIMIT;
static const CURLoption MLOPS_CURLOPT_LOW_SPEED_TIME = CURLOPT_LOW_SPEED_TIME;
static const CURLoption MLOPS_CURLOPT_NOSIGNAL = CURLOPT_NOSIGNAL;
static const CURLoption MLOPS_CURLOPT_TIMEOUT = CURLOPT_TIMEOUT;

CURL *mlops_curl_easy_init(void);
void mlops_curl_easy_cleanup(CURL *handle);
CURLcode mlops_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode mlops_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode mlops_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode mlops_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value);
typedef size_t (*mlops_curl_write_callback)(char *data, size_t size, size_t count, void *context);
CURLcode mlops_curl_setopt_write_function(CURL *handle, mlops_curl_write_callback callback);
/* Each response header line, with the same signature as the write callback. */
CURLcode mlops_curl_setopt_header_function(CURL *handle, mlops_curl_write_callback callback);
CURLcode mlops_curl_perform(CURL *handle);
long mlops_curl_response_code(CURL *handle);
const char *mlops_curl_strerror(CURLcode code);
struct curl_slist *mlops_curl_slist_append(struct curl_slist *list, const char *line);
void mlops_curl_slist_free_all(struct curl_slist *list);

#endif
