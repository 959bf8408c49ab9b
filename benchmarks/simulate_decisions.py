"""Full-size seeded simulations of the decision statistics of issue 14.

* Fieller's interval (``stats/fieller.py``): the invariant "0 outside Fieller ⇔ the absolute
  test rejects" on random cases, directly and through ``stats.compare`` (CUPED, fixed and
  sequential); coverage of the true relative lift, Fieller against the delta method, with 50/50
  and 10 % holdouts, binary and log-normal revenue, and CUPED.
* Guardrails (``stats/guardrail.py``): verdict rates when the true harm sits exactly at the
  margin (false ``harmed`` must stay ≤ α_g), power at ``guardrail_sample_size`` when nothing is
  harmed, and the exact error of ``max_rate`` verdicts at the cap.
* Rare events (``stats/exact.py``): the exact type I error of Welch's t and Fisher's test with
  a couple of events per arm (enumerated, not simulated).

The tests (``tests/stats/test_fieller.py``, ``test_guardrail.py``, ``test_exact.py``) run the
same functions at reduced size. Run: ``.venv/bin/python benchmarks/simulate_decisions.py``.
"""

from __future__ import annotations

import time

from stats.exact import fisher_test
from stats.guardrail import guardrail_sample_size, max_rate_verdict
from stats.simulation.decisions import (
    AT_MARGIN,
    AT_MARGIN_LARGE,
    COVERAGE_SCENARIOS,
    KINDS,
    METHOD_NAMES,
    RARE_SCENARIOS,
    STRESS_SCENARIOS,
    PlannedGuardrail,
    compare_invariant,
    coverage,
    fieller_invariant,
    guardrail_power,
    guardrail_rates,
    max_rate_exact,
    mc_se,
    rare_type1,
    welch_p,
)


def main() -> None:
    t0 = time.perf_counter()
    inv = fieller_invariant(200_000)
    print(
        f"Invariant, {inv.cases:,} random ratios (methods {', '.join(METHOD_NAMES)}):"
        f" 0 outside Fieller <=> |D|/se > q <=> CI excludes 0 <=> p < alpha in {inv.agree:,};"
        f" {inv.unbounded:,} unbounded sets, {inv.rejected:,} rejections; the delta-method"
        f" interval disagrees with the absolute test in {inv.delta_disagree:,}"
    )
    inv = compare_invariant(20_000)
    print(
        f"Invariant through compare() (CUPED, every method), {inv.cases:,} pilots:"
        f" agree in {inv.agree:,}; {inv.unbounded:,} unbounded, {inv.rejected:,} rejections;"
        f" delta method disagrees in {inv.delta_disagree:,}"
    )
    print("\nCoverage of the true relative lift by 95% intervals (Welch df):")
    scenarios = [(sc, True) for sc in COVERAGE_SCENARIOS] + [(sc, False) for sc in STRESS_SCENARIOS]
    for i, (sc, asserted) in enumerate(scenarios):
        sims = 10_000 if sc.kind == "cuped" else 50_000
        cov = coverage(sc, sims, seed=100 + i)
        extra = (
            f", CUPED variance reduction {cov.variance_reduction:.2f}"
            if cov.variance_reduction is not None
            else ""
        )
        print(
            f"- {'' if asserted else '[stress] '}{sc.name} (true {cov.true_relative:+.1%}),"
            f" {cov.sims:,} sims (MC se {mc_se(0.95, cov.sims):.2%}): Fieller {cov.fieller:.2%}"
            f" (misses below/above {cov.fieller_below:.2%}/{cov.fieller_above:.2%}), delta"
            f" {cov.delta:.2%} ({cov.delta_below:.2%}/{cov.delta_above:.2%}); absolute lift"
            f" {cov.absolute:.2%}; Fieller unbounded {cov.unbounded:.2%}{extra}"
        )
    print("\nGuardrails, true harm exactly at the 10% margin (both verdicts are wrong there):")
    runs = [(g, k, 20_000) for g in AT_MARGIN for k in (1, 3)] + [(AT_MARGIN_LARGE, 1, 10_000)]
    for i, (g, k, sims) in enumerate(runs):
        r = guardrail_rates(g, sims, guardrails=k, seed=200 + i)
        print(
            f"- {g.name}, {k} guardrail(s) (alpha_g {r.alpha_g:.4f}), {sims:,} pilots: harmed"
            f" {r.harmed:.2%}, non-inferior {r.non_inferior:.2%} (MC se"
            f" {mc_se(r.alpha_g, r.sims):.2%}), inconclusive {r.inconclusive:.2%}"
        )
    print("\nGuardrail power at guardrail_sample_size (planned 80%), 20,000 pilots each:")
    for share, k in ((0.5, 1), (0.1, 1), (0.5, 3)):
        planned = PlannedGuardrail(holdout_share=share, guardrails=k)
        p = guardrail_power(20_000, planned, seed=300 + int(share * 10) + k)
        print(
            f"- {p.rates.name}: {p.holdout:,} + {p.variant:,} customers, non-inferior"
            f" {p.rates.non_inferior:.2%} (MC se {mc_se(p.rates.non_inferior, p.rates.sims):.2%}),"
            f" harmed {p.rates.harmed:.3%}"
        )
    print("\nmax_rate 0.5% (exact probabilities, one guardrail, alpha_g = 5%):")
    for kind in KINDS:
        e = max_rate_exact(20_000, 0.005, 0.005, kind=kind)
        print(
            f"- {kind}, true rate at the cap, 20,000 customers: harmed {e.harmed:.2%},"
            f" non-inferior {e.non_inferior:.2%}"
        )
    for rate in (0.0, 0.001, 0.003):
        for kind in KINDS:
            plan = guardrail_sample_size(
                baseline=rate, kind=kind, direction="decrease", max_rate=0.005
            )
            e = max_rate_exact(plan.customers_per_variant, rate, 0.005, kind=kind)
            print(
                f"- {kind}, assumed rate {rate:.1%}: guardrail_sample_size"
                f" {plan.customers_per_variant:,} variant customers; exact power there"
                f" {e.non_inferior:.2%}"
            )
    zero = max_rate_verdict(4, 1_000_000, max_rate=0.005, kind="binary")
    print(f"- structural zero, 4 unsubscribes in 1,000,000: {zero.verdict}, bound {zero.bound:.3g}")
    over = max_rate_verdict(700, 100_000, max_rate=0.005, kind="binary")
    print(f"- 700 in 100,000 (0.7%): {over.verdict}, lower bound {over.lower:.4%}")
    print("\nRare events, A/A, exact type I error at alpha = 5% (enumerated):")
    for n_c, n_t, rate in RARE_SCENARIOS:
        b = rare_type1(n_c, n_t, rate)
        c = rare_type1(n_c, n_t, rate, kind="count")
        print(
            f"- {n_c:,} holdout + {n_t:,} variant, rate {rate:.2%} ({n_c * rate:g} expected"
            f" holdout events): Welch {b.welch:.2%}, Fisher {b.exact:.2%}, conditional Poisson"
            f" {c.exact:.2%}; exact only when is_rare {b.switched:.2%}"
        )
    f = fisher_test(0, 1000, 8, 1000)
    w = welch_p(0, 1000, 8, 1000)
    print(f"- 0 of 1,000 vs 8 of 1,000: Fisher p = {f.p_value:.4f}, Welch p = {w:.4f}")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
