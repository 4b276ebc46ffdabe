/// XGBoost names that `mlops.yaml` is checked against (XGBoost 1.7 parameter documentation).
enum XGBoostNames {
    static let objectives = [
        "binary:logistic", "binary:logitraw", "binary:hinge", "multi:softprob", "multi:softmax",
        "reg:squarederror", "reg:squaredlogerror", "reg:logistic", "reg:pseudohubererror", "reg:absoluteerror",
        "reg:gamma", "reg:tweedie", "count:poisson", "survival:cox", "survival:aft", "rank:pairwise", "rank:ndcg",
        "rank:map",
    ]

    static let evalMetrics = [
        "rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror", "mlogloss", "auc", "aucpr", "ndcg",
        "map", "poisson-nloglik", "gamma-nloglik", "cox-nloglik", "gamma-deviance", "tweedie-nloglik",
        "aft-nloglik", "interval-regression-accuracy",
    ]

    /// Booster and learning-task parameters accepted in `trainer.hyperparameters` and `tuner.search_space`.
    static let parameters = [
        "eta", "learning_rate", "gamma", "min_split_loss", "max_depth", "min_child_weight", "max_delta_step",
        "subsample", "sampling_method", "colsample_bytree", "colsample_bylevel", "colsample_bynode", "lambda",
        "reg_lambda", "alpha", "reg_alpha", "tree_method", "sketch_eps", "scale_pos_weight", "updater",
        "refresh_leaf", "process_type", "grow_policy", "max_leaves", "max_bin", "predictor", "num_parallel_tree",
        "monotone_constraints", "interaction_constraints", "max_cat_to_onehot", "max_cat_threshold",
        "feature_selector", "top_k", "base_score", "tweedie_variance_power", "huber_slope", "validate_parameters",
        "booster", "objective",
    ]

    /// Parameters with their own key in `trainer`, so they are not set twice.
    static let reservedParameters = [
        "num_class": "trainer.num_class", "nthread": "trainer.nthread", "seed": "trainer.seed",
        "eval_metric": "trainer.eval_metric", "num_boost_round": "trainer.rounds", "n_estimators": "trainer.rounds",
    ]
}

/// Keys of `gates.policy`: categories and TFDV anomaly reason names (tensorflow_metadata anomalies.proto).
enum GatePolicyNames {
    static let categories = ["anomalies", "drift", "skew", "metrics", "infra"]
    static let anomalyReasons = [
        "SCHEMA_MISSING_COLUMN", "SCHEMA_NEW_COLUMN", "SCHEMA_TRAINING_SERVING_SKEW", "UNEXPECTED_DATA_TYPE",
        "ENUM_TYPE_UNEXPECTED_STRING_VALUES", "FEATURE_TYPE_LOW_FRACTION_PRESENT", "FEATURE_TYPE_LOW_NUMBER_PRESENT",
        "FEATURE_TYPE_NOT_PRESENT", "FEATURE_TYPE_NO_VALUES", "INT_TYPE_BIG_INT", "INT_TYPE_SMALL_INT",
        "INT_TYPE_NOT_INT_STRING", "FLOAT_TYPE_BIG_FLOAT", "FLOAT_TYPE_SMALL_FLOAT", "FLOAT_TYPE_HAS_NAN",
        "FLOAT_TYPE_HAS_INF", "FLOAT_TYPE_NOT_FLOAT_STRING", "STRING_TYPE_NOW_FLOAT", "STRING_TYPE_NOW_INT",
        "COMPARATOR_L_INFTY_HIGH", "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH",
        "COMPARATOR_NORMALIZED_ABSOLUTE_DIFFERENCE_HIGH", "DATASET_LOW_NUM_EXAMPLES", "DATASET_HIGH_NUM_EXAMPLES",
        "NUM_EXAMPLES_DRIFT_HIGH", "CUSTOM_VALIDATION",
    ]
    static var all: [String] { categories + anomalyReasons }
}
