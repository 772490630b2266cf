#!/usr/bin/env python3
"""Generates cases.json: expected next fires for cron fixtures, computed WITHOUT ctflow's code.

Independent oracle: Python's standard library only (zoneinfo reads the same system tzdata as
cctz, /usr/share/zoneinfo). A small cron matcher written here from the rules in docs/cron.md,
and a brute-force scan: every local civil minute of every matching local day, each mapped to an
instant by the documented DST rules, found by probing zoneinfo rather than by transition math:

  - a civil minute that round-trips through UTC exactly once fires at that instant;
  - one that round-trips twice (fall-back) fires at the earlier instant (first occurrence);
  - one that does not round-trip (spring-forward gap) fires at the transition instant, found
    by scanning UTC seconds for the first instant whose local time is later than the minute.

All mapped instants go into a set (so the skipped minutes of one gap collapse into one fire);
the first 5 strictly after the reference instant are the expected values.

Usage: python3 gen.py > cases.json     (deterministic; rerun when tzdata or cases change)
"""
import datetime as dt
import json
import sys
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
MACROS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
          "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
          "@annually": "0 0 1 1 *"}
SCAN_YEARS = 12  # give up after this many years without a fire: the case expects "no fire"


def parse_field(text, lo, hi, names=None, names_base=0):
    out = set()
    for item in text.split(","):
        step, has_step = 1, "/" in item
        if has_step:
            item, s = item.split("/")
            step = int(s)
        def val(v):
            if v.isdigit():
                return int(v)
            return names.index(v.lower()) + names_base
        if item == "*":
            a, b = lo, hi
        elif "-" in item:
            a, b = (val(v) for v in item.split("-"))
            assert a <= b, "reversed range in a fixture"
        else:
            a = val(item)
            b = hi if has_step else a  # `A/S` means A-max/S
        assert lo <= a <= hi and lo <= b <= hi
        out.update(range(a, b + 1, step))
    return out


class Cron:
    def __init__(self, expr):
        expr = MACROS.get(expr.strip().lower(), expr)
        f = expr.split()
        assert len(f) == 5
        self.minute = parse_field(f[0], 0, 59)
        self.hour = parse_field(f[1], 0, 23)
        self.dom = parse_field(f[2], 1, 31)
        self.month = parse_field(f[3], 1, 12, MONTHS, 1)
        self.dow = {d % 7 for d in parse_field(f[4], 0, 7, DAYS, 0)}
        self.dom_star = f[2].startswith("*")
        self.dow_star = f[4].startswith("*")

    def day_ok(self, d):
        if d.month not in self.month:
            return False
        dom_ok = d.day in self.dom
        dow_ok = (d.isoweekday() % 7) in self.dow  # isoweekday: Mon=1..Sun=7
        if self.dom_star or self.dow_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok


def local_of(u, tz):
    return u.astimezone(tz).replace(tzinfo=None)


def fire_instant(civil, tz):
    cands = {civil.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1)}
    real = sorted(u for u in cands if local_of(u, tz) == civil)
    if real:
        return real[0]  # unique, or the first occurrence of a repeated time
    # Skipped: the transition is between the two candidate instants.
    u = min(cands)
    while local_of(u, tz) <= civil:
        u += dt.timedelta(seconds=1)
        assert u <= max(cands) + dt.timedelta(seconds=1)
    return u


def next_fires(expr, zone, ref, n=5):
    cron, tz = Cron(expr), ZoneInfo(zone)
    day = local_of(ref, tz).date() - dt.timedelta(days=1)
    give_up = day + dt.timedelta(days=366 * SCAN_YEARS)
    found, stop_day = set(), None
    while day <= give_up and (stop_day is None or day <= stop_day):
        if cron.day_ok(day):
            for h in sorted(cron.hour):
                for m in sorted(cron.minute):
                    t = fire_instant(dt.datetime(day.year, day.month, day.day, h, m), tz)
                    if t > ref:
                        found.add(t)
                        give_up = day + dt.timedelta(days=366 * SCAN_YEARS)
            if len(found) >= n and stop_day is None:
                stop_day = day + dt.timedelta(days=2)  # margin: a later day never maps earlier
        day += dt.timedelta(days=1)
    if len(found) < n:
        return None
    return [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in sorted(found)[:n]]


# (name, expression, zone, reference instant). The reference is the `--from` value.
CASES = []


def case(name, expr, zone, ref):
    CASES.append((name, expr, zone, ref))


from gen_cases import add_cases  # noqa: E402  (the case list lives beside this file)

add_cases(case)


def main():
    with open("/usr/share/zoneinfo/tzdata.zi") as f:
        version = f.readline().strip().lstrip("# ").replace("version ", "")
    out = {"generator": "tests/testdata/cron/gen.py (python3 zoneinfo, brute-force scan)",
           "tzdata": version, "cases": []}
    names = set()
    for name, expr, zone, ref in CASES:
        assert name not in names, name
        names.add(name)
        ref_t = dt.datetime.fromisoformat(ref.replace("Z", "+00:00")).astimezone(UTC)
        fires = next_fires(expr, zone, ref_t)
        c = {"name": name, "expr": expr, "tz": zone, "from": ref}
        if fires is None:
            c["never"] = True
        else:
            c["next"] = fires
        out["cases"].append(c)
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
