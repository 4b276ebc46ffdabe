#ifndef CXGBOOST_H
#define CXGBOOST_H
/* XGBoost's C API, as declared by libxgboost-dev. The definitions mlops calls are in
 * loader.c: they load libxgboost on first use (dlopen) and forward to it, so commands that
 * never train or predict do not pay for loading it and its C++ runtime at start-up. */
#include <xgboost/c_api.h>
#endif
