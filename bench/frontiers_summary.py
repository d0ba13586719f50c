"""Render `bascaler compare --format json` outputs as the markdown tables of bench/frontiers.md.

Usage: python3 bench/frontiers_summary.py out/frontiers/*.json

Columns 5-7 are compare's numbers (the best-baseline comparison and its max_excess; the
script re-checks max_excess against the frontier vertices); column 8 interpolates bascaler's
frontier at 1% violating intervals.
"""
import json, sys, glob, os

def interp(vs, x, key_x, key_y):
    # vs sorted by key_x ascending or descending; linear interpolation, None outside
    pts = sorted(((v[key_x], v[key_y]) for v in vs))
    if not pts or x < pts[0][0] - 1e-12 or x > pts[-1][0] + 1e-12:
        return None
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (x - x0) / (x1 - x0) * (y1 - y0)
    return pts[0][1]

def best_envelope(policies, subject):
    """The lower convex non-increasing envelope of every other policy's frontier vertices."""
    pts = []
    for p in policies:
        if p['policy'] != subject:
            pts += [(v['cost_pod_hours'], v['slo_violation_rate']) for v in p['frontier']['vertices']]
    pts.sort()
    pareto = []
    for c, v in pts:
        if not pareto or v < pareto[-1][1]:
            if pareto and c == pareto[-1][0]:
                continue
            pareto.append((c, v))
    hull = []
    for p in pareto:
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (b[0]-a[0])*(p[1]-a[1]) - (b[1]-a[1])*(p[0]-a[0]) <= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    return [{'cost_pod_hours': c, 'slo_violation_rate': v} for c, v in hull]

def below_everywhere(sub, base):
    # check sub <= base at every knot of both inside the shared cost range
    lo = max(min(v['cost_pod_hours'] for v in sub), min(v['cost_pod_hours'] for v in base))
    hi = min(max(v['cost_pod_hours'] for v in sub), max(v['cost_pod_hours'] for v in base))
    if lo > hi:
        return None
    knots = [lo, hi] + [v['cost_pod_hours'] for v in sub + base if lo < v['cost_pod_hours'] < hi]
    worst = 0
    for k in knots:
        a = interp(sub, k, 'cost_pod_hours', 'slo_violation_rate')
        b = interp(base, k, 'cost_pod_hours', 'slo_violation_rate')
        if a is None or b is None:
            continue
        worst = max(worst, a - b)
    return worst <= 1e-12, worst

def cell(m, pct):
    if m['overlap'] != 'overlap':
        return 'no overlap'
    r = m.get('ratio')
    if pct:
        s = '%.2f%% vs %.2f%%' % (100*m['a'], 100*m['b'])
    else:
        s = '%.0f vs %.0f' % (m['a'], m['b'])
    if r is not None:
        s += ' (%+.0f%%)' % (100*(r-1))
    return s

rows = []
files = sys.argv[1:]
print('| workload | intervals | oracle p-h | bascaler frontier: cost range, viol. range | vs best baseline: viol. at matched cost (bascaler vs best) | vs best: p-h at matched viol. | bascaler <= best everywhere on the shared cost range | bascaler p-h at 1% viol. / oracle |')
print('|---|---|---|---|---|---|---|---|')
per = []
for f in files:
    d = json.load(open(f))
    for t in d['traces']:
        pols = t['policies']
        sub = next(p for p in pols if p['policy'] == 'bascaler')
        sv = sub['frontier']['vertices']
        comps = {c['baseline']: c for c in t['comparisons']}
        best = comps.get('best baseline')
        o = t.get('oracle', {}).get('cost_pod_hours')
        c1 = interp(sv, 0.01, 'slo_violation_rate', 'cost_pod_hours')
        at1 = '%.3f' % (c1 / o) if (c1 is not None and o) else 'outside frontier'
        mc = best['violations_at_matched_cost']
        chk = below_everywhere(sv, best_envelope(pols, 'bascaler'))
        if mc['overlap'] != 'overlap':
            bes = 'no overlap'
        else:
            ex = mc['max_excess']
            assert chk is not None and abs(max(chk[1], 0) - max(ex, 0)) < 1e-9, (t['trace'], chk, ex)
            bes = 'yes' if ex <= 0 else 'no (up to +%.2f pp)' % (100*ex)
        cr = '%.0f–%.0f p-h, %.2f–%.2f%%' % (min(v['cost_pod_hours'] for v in sv), max(v['cost_pod_hours'] for v in sv),
                                           100*min(v['slo_violation_rate'] for v in sv), 100*max(v['slo_violation_rate'] for v in sv))
        print('| %s | %d | %.1f | %s | %s | %s | %s | %s |' % (t['trace'], t['intervals'], o or 0, cr, cell(best['violations_at_matched_cost'], True), cell(best['cost_at_matched_violations'], False), bes, at1))
        per.append((t['trace'], comps))
print()
names = ['hpa', 'kpa', 'bascaler-paper', 'phpa', 'ehpa']
print('Per baseline: bascaler\'s violations at matched cost / cost at matched violations, as the change against the baseline (negative = bascaler lower).')
print()
print('| workload | ' + ' | '.join(names) + ' |')
print('|---|' + '---|'*len(names))
for tr, comps in per:
    cells = []
    for n in names:
        c = comps.get(n)
        if c is None:
            cells.append('-'); continue
        parts = []
        for k in ['violations_at_matched_cost', 'cost_at_matched_violations']:
            m = c[k]
            if m['overlap'] != 'overlap':
                parts.append('no overlap')
            elif m.get('ratio') is None:
                parts.append('undef.')
            else:
                parts.append('%+.0f%%' % (100*(m['ratio']-1)))
        cells.append(' / '.join(parts))
    print('| %s | %s |' % (tr, ' | '.join(cells)))
