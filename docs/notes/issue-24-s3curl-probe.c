/* Tiny probe: signed S3 requests against moto with libcurl's CURLOPT_AWS_SIGV4.
 * usage: s3curl ENDPOINT KEY SECRET   (e.g. http://127.0.0.1:PORT) */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

/* HASH_MODE: "real" (default) = sha256 of body, "unsigned" = UNSIGNED-PAYLOAD, "none" = no header */
static const char *hash_mode(void) { const char *m = getenv("HASH_MODE"); return m ? m : "real"; }
static void sha_hex(const char *p, size_t n, char out[65]) {
  unsigned char d[32]; SHA256((const unsigned char *)p, n, d);
  for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

struct buf { char *p; size_t n; };
struct src { const char *p; size_t n, off; };

static size_t wr(char *d, size_t s, size_t n, void *u) {
  struct buf *b = u; size_t k = s * n;
  b->p = realloc(b->p, b->n + k + 1); memcpy(b->p + b->n, d, k); b->n += k; b->p[b->n] = 0;
  return k;
}
static size_t rd(char *d, size_t s, size_t n, void *u) {
  struct src *r = u; size_t k = s * n, left = r->n - r->off;
  if (k > left) k = left;
  memcpy(d, r->p + r->off, k); r->off += k; return k;
}
static int show_hdrs = 1;
/* print the interesting outgoing header lines (x-amz-*, SignedHeaders) */
static int dbg(CURL *h, curl_infotype t, char *d, size_t n, void *u) {
  (void)h; (void)u;
  if (t != CURLINFO_HEADER_OUT || !show_hdrs) return 0;
  char *s = strndup(d, n), *save = NULL;
  for (char *l = strtok_r(s, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
    if (!strncasecmp(l, "x-amz-", 6) || !strncasecmp(l, "if-", 3) || !strncasecmp(l, "content-type", 12) || !strncasecmp(l, "expect", 6) || !strncmp(l, "PUT ", 4) ||
        !strncmp(l, "GET ", 4) || !strncmp(l, "POST ", 5))
      printf("    > %s\n", l);
    char *sh = strstr(l, "SignedHeaders=");
    if (sh) { char *e = strchr(sh, ','); printf("    > Authorization: ...%.*s...\n", e ? (int)(e - sh) : (int)strlen(sh), sh); }
  }
  free(s); return 0;
}

/* mode: 0 = no body, 1 = UPLOAD with read callback, 2 = POSTFIELDS (in memory) */
static long req(const char *label, const char *method, const char *url, const char *userpwd,
                const char *body, int mode, const char **hdrs, struct buf *out) {
  CURL *h = curl_easy_init();
  struct curl_slist *sl = NULL;
  struct src s = { body, body ? strlen(body) : 0, 0 };
  out->p = NULL; out->n = 0;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
  curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, wr);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, dbg);
  int has_sha = 0;
  for (const char **x = hdrs; x && *x; x++) { sl = curl_slist_append(sl, *x); if (!strncasecmp(*x, "x-amz-content-sha256", 20)) has_sha = 1; }
  if (!has_sha && strcmp(hash_mode(), "none")) {
    char hx[65], line[128];
    if (!strcmp(hash_mode(), "unsigned")) strcpy(hx, "UNSIGNED-PAYLOAD"); else sha_hex(body ? body : "", s.n, hx);
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", hx); sl = curl_slist_append(sl, line);
  }
  if (mode == 1) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, rd);
    curl_easy_setopt(h, CURLOPT_READDATA, &s);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s.n);
    const char *em = getenv("EXPECT_MODE");   /* remove | timeout0 | (unset: curl default) */
    if (em && !strcmp(em, "remove")) sl = curl_slist_append(sl, "Expect:");
    if (em && !strcmp(em, "timeout0")) curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
  } else if (mode == 2) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s.n);
    const char *ct = getenv("CT_MODE");   /* remove | set | (unset: curl default) */
    if (ct && !strcmp(ct, "remove")) sl = curl_slist_append(sl, "Content-Type:");
    if (ct && !strcmp(ct, "set")) sl = curl_slist_append(sl, "Content-Type: application/octet-stream");
  }
  if (strcmp(method, "GET") && !(mode == 1 && !strcmp(method, "PUT")) && !(mode == 2 && !strcmp(method, "POST")))
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, sl);
  printf("%s\n", label);
  CURLcode rc = curl_easy_perform(h);
  long code = 0; curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  char *snip = out->p ? out->p : "";
  char *c = strstr(snip, "<Code>");
  printf("  -> curl=%d HTTP %ld %s%.*s\n", rc, code, c ? "" : "", c ? (int)(strstr(c, "</Code>") - c + 7) : 0, c ? c : "");
  curl_slist_free_all(sl); curl_easy_cleanup(h);
  return code;
}

static char *between(const char *s, const char *a, const char *b) {
  const char *p = strstr(s, a); if (!p) return NULL; p += strlen(a);
  const char *q = strstr(p, b); if (!q) return NULL; return strndup(p, q - p);
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s ENDPOINT KEY SECRET\n", argv[0]); return 2; }
  char up[256], bad[256], url[512], url2[512];
  snprintf(up, sizeof up, "%s:%s", argv[2], argv[3]);
  snprintf(bad, sizeof bad, "%s:%s", argv[2], "not-the-secret");
  const char *ep = argv[1];
  struct buf o;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  printf("libcurl %s\n", curl_version());

  snprintf(url, sizeof url, "%s/bkt/probe/obj1", ep);
  const char *inm[] = { "If-None-Match: *", NULL };
  req("1. PUT (UPLOAD/read callback) If-None-Match:* new key", "PUT", url, up, "hello world\n", 1, inm, &o);
  req("2. same PUT again (expect 412)", "PUT", url, up, "hello again\n", 1, inm, &o);
  req("3. GET", "GET", url, up, NULL, 0, NULL, &o); printf("  body=%s", o.p);
  show_hdrs = 0;
  req("4. GET with wrong secret (expect 403 SignatureDoesNotMatch)", "GET", url, bad, NULL, 0, NULL, &o);
  req("5. PUT with wrong secret", "PUT", url, bad, "x", 1, NULL, &o);
  show_hdrs = 1;

  /* real payload hash supplied by the caller */
  snprintf(url, sizeof url, "%s/bkt/probe/obj2", ep);
  const char *hh[] = { "x-amz-content-sha256: a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447", NULL }; /* sha256("hello world\n") */
  req("6. PUT UPLOAD with x-amz-content-sha256: <real hash> supplied", "PUT", url, up, "hello world\n", 1, hh, &o);
  const char *wh[] = { "x-amz-content-sha256: 0000000000000000000000000000000000000000000000000000000000000000", NULL };
  req("7. PUT UPLOAD with WRONG x-amz-content-sha256 (real S3: 400 XAmzContentSHA256Mismatch)", "PUT", url, up, "hello world\n", 1, wh, &o);
  { struct buf g; req("7b. GET obj2 after wrong-hash PUT", "GET", url, up, NULL, 0, NULL, &g); printf("  body=%s", g.p ? g.p : "(null)\n"); }
  req("8. PUT via POSTFIELDS + CUSTOMREQUEST PUT (libcurl hashes body itself?)", "PUT", url, up, "hello world\n", 2, NULL, &o);

  /* If-Match with ETag */
  show_hdrs = 0;
  req("9. GET obj2 for ETag", "GET", url, up, NULL, 0, NULL, &o); printf("  body=%s", o.p ? o.p : "(null)\n");
  const char *im_bad[] = { "If-Match: \"deadbeefdeadbeefdeadbeefdeadbeef\"", NULL };
  req("10. PUT If-Match: wrong etag (expect 412)", "PUT", url, up, "v2\n", 1, im_bad, &o);
  const char *im_ok[] = { "If-Match: \"6f5902ac237024bdd0c176cb93063dc4\"", NULL }; /* md5("hello world\n") */
  req("11. PUT If-Match: current etag (expect 200)", "PUT", url, up, "v2\n", 1, im_ok, &o);
  req("12. same If-Match again, etag now stale (expect 412)", "PUT", url, up, "v3\n", 1, im_ok, &o);
  snprintf(url2, sizeof url2, "%s/bkt/probe/absent", ep);
  req("13. PUT If-Match on absent key (S3: 404 NoSuchKey)", "PUT", url2, up, "v\n", 1, im_ok, &o);

  /* x-amz-checksum-sha256 */
  snprintf(url, sizeof url, "%s/bkt/probe/ck", ep);
  const char *ck_ok[] = { "x-amz-sdk-checksum-algorithm: SHA256", "x-amz-checksum-sha256: qUiQTy8PR5uPgZdpSzAYSw0u0cHNKh7A+4XSmaGSpEc=", NULL };
  req("14. PUT with correct x-amz-checksum-sha256", "PUT", url, up, "hello world\n", 1, ck_ok, &o);
  const char *ck_bad[] = { "x-amz-sdk-checksum-algorithm: SHA256", "x-amz-checksum-sha256: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL };
  req("15. PUT with WRONG x-amz-checksum-sha256 (real S3: 400 BadDigest)", "PUT", url, up, "hello world\n", 1, ck_bad, &o);
  const char *ck_bad2[] = { "x-amz-checksum-sha256: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL };
  req("15b. same, without x-amz-sdk-checksum-algorithm", "PUT", url, up, "hello world\n", 1, ck_bad2, &o);
  const char *cm[] = { "x-amz-checksum-mode: ENABLED", NULL };
  req("16. HEAD-ish GET with x-amz-checksum-mode: ENABLED", "GET", url, up, NULL, 0, cm, &o);
  show_hdrs = 1;

  /* multipart: query strings */
  snprintf(url, sizeof url, "%s/bkt/probe/mp?uploads", ep);
  const char *mpa[] = { "x-amz-checksum-algorithm: SHA256", NULL };
  req("17. POST ?uploads (no '=')", "POST", url, up, "", 2, mpa, &o);
  char *uid = o.p ? between(o.p, "<UploadId>", "</UploadId>") : NULL;
  if (!uid) {
    snprintf(url, sizeof url, "%s/bkt/probe/mp?uploads=", ep);
    req("17b. POST ?uploads= (explicit '=')", "POST", url, up, "", 2, mpa, &o);
    uid = o.p ? between(o.p, "<UploadId>", "</UploadId>") : NULL;
  }
  printf("  uploadId=%s\n", uid ? uid : "(none)");
  if (uid) {
    static char part[5 * 1024 * 1024 + 1];
    memset(part, 'a', sizeof part - 1);
    char *etags[2] = {0};
    for (int i = 1; i <= 2; i++) {
      snprintf(url, sizeof url, "%s/bkt/probe/mp?partNumber=%d&uploadId=%s", ep, i, uid);
      char lbl[64]; snprintf(lbl, sizeof lbl, "18.%d UploadPart %d (5 MiB, UPLOAD)", i, i);
      show_hdrs = (i == 1);
      CURL *dummy = NULL; (void)dummy;
      req(lbl, "PUT", url, up, part, 1, NULL, &o);
    }
    show_hdrs = 1;
    /* list parts to learn ETags */
    snprintf(url, sizeof url, "%s/bkt/probe/mp?uploadId=%s", ep, uid);
    req("19. ListParts", "GET", url, up, NULL, 0, NULL, &o);
    const char *q = o.p; int k = 0;
    while (q && k < 2 && (q = strstr(q, "<ETag>"))) { etags[k++] = between(q, "<ETag>", "</ETag>"); q += 6; }
    char xml[1024];
    snprintf(xml, sizeof xml, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
             "<Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>",
             etags[0] ? etags[0] : "", etags[1] ? etags[1] : "");
    req("20. CompleteMultipartUpload If-None-Match:* (key new)", "POST", url, up, xml, 2, inm, &o);
    if (o.p) { char *e = between(o.p, "<ETag>", "</ETag>"); printf("  etag=%s\n", e ? e : "?"); }
    /* second upload to the same key, complete must fail */
    snprintf(url, sizeof url, "%s/bkt/probe/mp?uploads=", ep);
    show_hdrs = 0;
    req("21. second CreateMultipartUpload same key", "POST", url, up, "", 2, NULL, &o);
    char *uid2 = o.p ? between(o.p, "<UploadId>", "</UploadId>") : NULL;
    snprintf(url, sizeof url, "%s/bkt/probe/mp?partNumber=1&uploadId=%s", ep, uid2);
    req("22. UploadPart 1", "PUT", url, up, "tiny last part", 1, NULL, &o);
    snprintf(url, sizeof url, "%s/bkt/probe/mp?uploadId=%s", ep, uid2);
    req("23. ListParts", "GET", url, up, NULL, 0, NULL, &o);
    char *e1 = o.p ? between(o.p, "<ETag>", "</ETag>") : NULL;
    snprintf(xml, sizeof xml, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>", e1 ? e1 : "");
    req("24. CompleteMultipartUpload If-None-Match:* (key exists: expect 412)", "POST", url, up, xml, 2, inm, &o);
    req("25. AbortMultipartUpload", "DELETE", url, up, NULL, 0, NULL, &o);
  }
  show_hdrs = 1;
  /* listing: query parameters that need sorting / encoding */
  snprintf(url, sizeof url, "%s/bkt?list-type=2&prefix=probe%%2Fob", ep);
  req("26. ListObjectsV2 ?list-type=2&prefix=probe%2Fob (sorted, encoded)", "GET", url, up, NULL, 0, NULL, &o);
  snprintf(url, sizeof url, "%s/bkt?prefix=probe%%2Fob&list-type=2", ep);
  req("27. ListObjectsV2 ?prefix=..&list-type=2 (unsorted)", "GET", url, up, NULL, 0, NULL, &o);
  snprintf(url, sizeof url, "%s/bkt?list-type=2&prefix=probe/ob", ep);
  req("28. ListObjectsV2 prefix with raw '/' (unencoded)", "GET", url, up, NULL, 0, NULL, &o);
  snprintf(url, sizeof url, "%s/bkt/probe/a%%20b%%2Bc%%3Dd", ep);
  req("29. PUT key 'probe/a b+c=d' percent-encoded in path", "PUT", url, up, "x", 1, NULL, &o);
  req("30. GET it back", "GET", url, up, NULL, 0, NULL, &o);
  snprintf(url, sizeof url, "%s/nosuchbucket/x", ep);
  show_hdrs = 0;
  req("31. GET from missing bucket", "GET", url, up, NULL, 0, NULL, &o);
  curl_global_cleanup();
  return 0;
}
