/* Loads libxgboost on the first call of any XGBoost function mlops uses, and forwards to
 * it. Each forwarder resolves its symbol once. When the library cannot be loaded, every
 * call fails with -1 and XGBGetLastError() says why and how to fix it. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "CXGBoost.h"

static void *library;
static char failure[640];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    static const char *const names[] = {"libxgboost.so.0", "libxgboost.so", "libxgboost.dylib"};
    const char *reason = "not found";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (library) return;
        const char *error = dlerror();
        if (error && i == 0) reason = error;
    }
    snprintf(failure, sizeof failure,
             "the XGBoost library could not be loaded (%s); install it (Debian: apt-get install libxgboost0)",
             reason);
}

static void *resolve(const char *name) {
    pthread_once(&once, load);
    if (!library) return NULL;
    void *found = dlsym(library, name);
    if (!found) snprintf(failure, sizeof failure, "the XGBoost library has no %s; it is too old for mlops", name);
    return found;
}

#define FORWARD(name, params, args)                                         \
    XGB_DLL int name params {                                              \
        static int(*target) params;                                        \
        int(*function) params = __atomic_load_n(&target, __ATOMIC_ACQUIRE); \
        if (!function) {                                                   \
            function = (int(*) params)resolve(#name);                      \
            if (!function) return -1;                                      \
            __atomic_store_n(&target, function, __ATOMIC_RELEASE);         \
        }                                                                  \
        return function args;                                              \
    }

const char *XGBGetLastError(void) {
    static const char *(*target)(void);
    const char *(*function)(void) = __atomic_load_n(&target, __ATOMIC_ACQUIRE);
    if (!function) {
        function = (const char *(*)(void))resolve("XGBGetLastError");
        if (!function) return failure;
        __atomic_store_n(&target, function, __ATOMIC_RELEASE);
    }
    /* A failure to load or resolve is the last error while it is the reason calls fail. */
    return failure[0] ? failure : function();
}

void XGBoostVersion(int *major, int *minor, int *patch) {
    void (*function)(int *, int *, int *) = (void (*)(int *, int *, int *))resolve("XGBoostVersion");
    if (function) {
        function(major, minor, patch);
    } else {
        *major = 0;
        *minor = 0;
        *patch = 0;
    }
}

FORWARD(XGBoosterBoostedRounds, (BoosterHandle handle, int *out), (handle, out))
FORWARD(XGBoosterCreate, (const DMatrixHandle dmats[], bst_ulong len, BoosterHandle *out), (dmats, len, out))
FORWARD(XGBoosterEvalOneIter,
        (BoosterHandle handle, int iter, DMatrixHandle dmats[], const char *evnames[], bst_ulong len,
         const char **out_result),
        (handle, iter, dmats, evnames, len, out_result))
FORWARD(XGBoosterFree, (BoosterHandle handle), (handle))
FORWARD(XGBoosterGetNumFeature, (BoosterHandle handle, bst_ulong *out), (handle, out))
FORWARD(XGBoosterLoadModel, (BoosterHandle handle, const char *fname), (handle, fname))
FORWARD(XGBoosterLoadModelFromBuffer, (BoosterHandle handle, const void *buf, bst_ulong len), (handle, buf, len))
FORWARD(XGBoosterPredict,
        (BoosterHandle handle, DMatrixHandle dmat, int option_mask, unsigned ntree_limit, int training,
         bst_ulong *out_len, const float **out_result),
        (handle, dmat, option_mask, ntree_limit, training, out_len, out_result))
FORWARD(XGBoosterPredictFromDMatrix,
        (BoosterHandle handle, DMatrixHandle dmat, char const *config, bst_ulong const **out_shape,
         bst_ulong *out_dim, float const **out_result),
        (handle, dmat, config, out_shape, out_dim, out_result))
FORWARD(XGBoosterPredictFromDense,
        (BoosterHandle handle, char const *values, char const *config, DMatrixHandle m, bst_ulong const **out_shape,
         bst_ulong *out_dim, const float **out_result),
        (handle, values, config, m, out_shape, out_dim, out_result))
FORWARD(XGBoosterSaveModel, (BoosterHandle handle, const char *fname), (handle, fname))
FORWARD(XGBoosterSaveModelToBuffer,
        (BoosterHandle handle, char const *config, bst_ulong *out_len, char const **out_dptr),
        (handle, config, out_len, out_dptr))
FORWARD(XGBoosterSetParam, (BoosterHandle handle, const char *name, const char *value), (handle, name, value))
FORWARD(XGBoosterSetStrFeatureInfo,
        (BoosterHandle handle, const char *field, const char **features, const bst_ulong size),
        (handle, field, features, size))
FORWARD(XGBoosterSlice, (BoosterHandle handle, int begin_layer, int end_layer, int step, BoosterHandle *out),
        (handle, begin_layer, end_layer, step, out))
FORWARD(XGBoosterUpdateOneIter, (BoosterHandle handle, int iter, DMatrixHandle dtrain), (handle, iter, dtrain))
FORWARD(XGDMatrixCreateFromMat_omp,
        (const float *data, bst_ulong nrow, bst_ulong ncol, float missing, DMatrixHandle *out, int nthread),
        (data, nrow, ncol, missing, out, nthread))
FORWARD(XGDMatrixFree, (DMatrixHandle handle), (handle))
FORWARD(XGDMatrixGetFloatInfo,
        (const DMatrixHandle handle, const char *field, bst_ulong *out_len, const float **out_dptr),
        (handle, field, out_len, out_dptr))
FORWARD(XGDMatrixNumNonMissing, (DMatrixHandle handle, bst_ulong *out), (handle, out))
FORWARD(XGDMatrixSetFloatInfo, (DMatrixHandle handle, const char *field, const float *array, bst_ulong len),
        (handle, field, array, len))
FORWARD(XGDMatrixSetStrFeatureInfo,
        (DMatrixHandle handle, const char *field, const char **features, const bst_ulong size),
        (handle, field, features, size))
FORWARD(XGProxyDMatrixCreate, (DMatrixHandle * out), (out))
