"""scikit-learn's own estimator checks on every supervised and unsupervised learner.

Each learner passes every check of the installed scikit-learn except the few listed in
``EXPECTED_FAILURES``, each with its reason. The instances are small (few epochs) to keep
the run short; they are still the learners' code paths.
"""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from agents import PCA, KMeans, LinearRegressor, MiniBatchKMeans, MLPClassifier, MLPRegressor

ESTIMATORS = [
    LinearRegressor(learning_rate=0.01, max_iter=200),
    LinearRegressor(solver="closed-form"),
    MLPRegressor(hidden=(16,), epochs=20),
    MLPClassifier(hidden=(16,), epochs=20),
    KMeans(k=3),
    MiniBatchKMeans(k=3, batch_size=64, epochs=5),
    PCA(),
]

_RAW_GD = (
    "plain gradient descent on unscaled features near 100 diverges (a DivergenceError that says so); "
    "the closed-form solver passes it"
)
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "LinearRegressor(gd)": {
        "check_fit_idempotent": _RAW_GD,
        "check_fit_check_is_fitted": _RAW_GD,
        "check_n_features_in": _RAW_GD,
    },
    "LinearRegressor(closed-form)": {},
    "MLPRegressor": {},
    "MLPClassifier": {},
    "KMeans": {},
    "MiniBatchKMeans": {},
    "PCA": {},
}


def expected_failed_checks(estimator) -> dict[str, str]:
    name = type(estimator).__name__
    if name == "LinearRegressor":
        name += f"({estimator.solver})"
    return EXPECTED_FAILURES[name]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_scikit_learn_check(estimator, check):
    check(estimator)
