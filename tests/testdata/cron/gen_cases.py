"""The fixture inputs: (name, expression, time zone, reference instant). gen.py computes the
expected fires. Add a case here, rerun `python3 gen.py > cases.json`, commit both."""


def add_cases(case):
    ny, lon, lhi, seoul, ber = ("America/New_York", "Europe/London", "Australia/Lord_Howe",
                                "Asia/Seoul", "Europe/Berlin")

    # --- America/New_York: spring forward 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z),
    #     fall back 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z); 2025: 03-09 and 11-02.
    case("ny-0230-spring", "30 2 * * *", ny, "2026-03-06T00:00:00Z")
    case("ny-0200-spring", "0 2 * * *", ny, "2026-03-07T12:00:00Z")
    case("ny-quarter-of-2am-spring", "*/15 2 * * *", ny, "2026-03-07T00:00:00Z")
    case("ny-2-and-3-spring-dedup", "0,30 2,3 * * *", ny, "2026-03-08T00:00:00Z")
    case("ny-0300-spring", "0 3 * * *", ny, "2026-03-07T00:00:00Z")
    case("ny-hourly-spring", "@hourly", ny, "2026-03-08T05:30:00Z")
    case("ny-every-minute-spring", "* * * * *", ny, "2026-03-08T06:58:00Z")
    case("ny-0130-fall", "30 1 * * *", ny, "2026-10-31T00:00:00Z")
    case("ny-20min-1am-fall", "*/20 1 * * *", ny, "2026-11-01T00:00:00Z")
    case("ny-hourly-fall", "0 * * * *", ny, "2026-11-01T04:00:00Z")
    case("ny-hourly-fall-from-first-pass", "0 * * * *", ny, "2026-11-01T05:30:00Z")
    case("ny-20min-from-second-pass", "*/20 * * * *", ny, "2026-11-01T06:10:00Z")
    case("ny-every-minute-fall", "* * * * *", ny, "2026-11-01T05:58:00Z")
    case("ny-every-minute-second-pass", "* * * * *", ny, "2026-11-01T06:30:00Z")
    case("ny-0230-spring-2025", "30 2 * * *", ny, "2025-03-08T00:00:00Z")
    case("ny-0130-fall-2025", "30 1 * * *", ny, "2025-11-01T12:00:00Z")
    case("ny-weekdays-9am", "0 9 * * 1-5", ny, "2026-03-06T00:00:00Z")
    case("ny-sunday-2am-spring", "0 2 * * sun", ny, "2026-03-01T00:00:00Z")
    case("ny-offset-from", "0 2 * * *", ny, "2026-03-08T01:59:00-05:00")

    # --- Europe/London: 2026-03-29 01:00 GMT -> 02:00 BST (01:00Z); 2026-10-25 02:00 BST ->
    #     01:00 GMT (01:00Z).
    case("london-0130-spring", "30 1 * * *", lon, "2026-03-27T00:00:00Z")
    case("london-0130-fall", "30 1 * * *", lon, "2026-10-24T00:00:00Z")
    case("london-0100-fall", "0 1 * * *", lon, "2026-10-24T00:00:00Z")
    case("london-quarter-past-spring", "15,45 * * * *", lon, "2026-03-29T00:20:00Z")
    case("london-quarter-past-fall", "15,45 * * * *", lon, "2026-10-25T00:20:00Z")
    case("london-sundays-1am", "0 1 * * 0", lon, "2026-03-20T00:00:00Z")
    case("london-every-minute-spring", "* * * * *", lon, "2026-03-29T00:58:30Z")
    case("london-every-minute-fall", "* * * * *", lon, "2026-10-25T00:58:00Z")
    case("london-daily", "@daily", lon, "2026-10-23T12:00:00Z")

    # --- Australia/Lord_Howe: 30-minute shifts. 2026-04-05 02:00 +11 -> 01:30 +1030 (15:00Z
    #     on 04-04); 2026-10-04 02:00 +1030 -> 02:30 +11 (15:30Z on 10-03).
    case("lhi-0215-spring", "15 2 * * *", lhi, "2026-10-01T00:00:00Z")
    case("lhi-10min-2am-spring", "*/10 2 * * *", lhi, "2026-10-03T00:00:00Z")
    case("lhi-0145-fall", "45 1 * * *", lhi, "2026-04-02T00:00:00Z")
    case("lhi-15min-1am-fall", "*/15 1 * * *", lhi, "2026-04-04T00:00:00Z")
    case("lhi-half-hours-fall", "0,30 * * * *", lhi, "2026-04-04T13:45:00Z")
    case("lhi-half-hours-spring", "0,30 * * * *", lhi, "2026-10-03T14:45:00Z")
    case("lhi-every-minute-spring", "* * * * *", lhi, "2026-10-03T15:28:00Z")
    case("lhi-every-minute-second-pass", "* * * * *", lhi, "2026-04-04T15:10:00Z")
    case("lhi-0200-spring", "0 2 * * *", lhi, "2026-10-02T00:00:00Z")

    # --- Asia/Seoul: +09 today; DST in 1987 (05-10 02:00 -> 03:00, 10-11 03:00 -> 02:00)
    #     and 1988 (05-08, 10-09).
    case("seoul-0300-daily", "0 3 * * *", seoul, "2026-03-06T00:00:00Z")
    case("seoul-0230-1987-spring", "30 2 * * *", seoul, "1987-05-08T00:00:00Z")
    case("seoul-0230-1987-fall", "30 2 * * *", seoul, "1987-10-09T00:00:00Z")
    case("seoul-hourly-1988-spring", "0 * * * *", seoul, "1988-05-07T15:30:00Z")
    case("seoul-hourly-1988-fall", "0 * * * *", seoul, "1988-10-08T15:30:00Z")
    case("seoul-month-end", "0 0 31 * *", seoul, "2026-01-15T00:00:00Z")
    case("seoul-weekly", "@weekly", seoul, "2026-03-01T00:00:00Z")

    # --- Europe/Berlin (the example) and other zones with unusual transitions.
    case("berlin-0220-spring", "20 2 * * *", ber, "2026-03-28T00:00:00Z")
    case("berlin-0220-fall", "20 2 * * *", ber, "2026-10-24T00:00:00Z")
    case("berlin-2-and-3-spring", "20 2,3 * * *", ber, "2026-03-28T12:00:00Z")
    case("apia-day-skipped-2011", "0 12 * * *", "Pacific/Apia", "2011-12-28T00:00:00Z")
    case("apia-midnight-2011", "0 0 * * *", "Pacific/Apia", "2011-12-28T00:00:00Z")
    case("havana-midnight-spring", "@daily", "America/Havana", "2026-03-06T12:00:00Z")
    case("havana-midnight-fall", "@midnight", "America/Havana", "2026-10-30T12:00:00Z")
    case("troll-2h-spring", "30 1 * * *", "Antarctica/Troll", "2026-03-27T00:00:00Z")
    case("troll-2h-fall", "30 1 * * *", "Antarctica/Troll", "2026-10-23T00:00:00Z")
    case("dublin-negative-dst-fall", "30 1 * * *", "Europe/Dublin", "2026-10-24T00:00:00Z")
    case("chatham-spring", "0 3 * * *", "Pacific/Chatham", "2026-09-25T00:00:00Z")
    case("kathmandu-quarter", "0 9 * * *", "Asia/Kathmandu", "2026-05-01T00:00:00Z")
    case("kolkata-half", "30 */6 * * *", "Asia/Kolkata", "2026-05-01T00:00:00Z")
    case("st-johns-spring", "30 2 * * *", "America/St_Johns", "2026-03-06T00:00:00Z")
    case("sao-paulo-no-dst", "0 0 * * *", "America/Sao_Paulo", "2026-10-30T00:00:00Z")

    # --- Leap days and month ends.
    case("leap-day-utc", "0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z")
    case("leap-day-across-2100", "0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z")
    case("leap-day-ny-noon", "0 12 29 2 *", ny, "2027-06-01T00:00:00Z")
    case("feb-28-29", "0 0 28-29 2 *", "UTC", "2027-01-01T00:00:00Z")
    case("every-day-of-feb-leap", "0 6 * 2 *", "UTC", "2028-02-26T00:00:00Z")
    case("day-31", "0 0 31 * *", "UTC", "2026-01-01T00:00:00Z")
    case("day-31-ny", "0 0 31 * *", ny, "2026-06-15T00:00:00Z")
    case("day-30-31", "0 0 30,31 * *", "UTC", "2026-01-29T00:00:00Z")
    case("new-year-eve", "59 23 31 12 *", "UTC", "2026-06-01T00:00:00Z")
    case("never-feb-30", "0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z")
    case("never-31-short-months", "0 0 31 4,6,9,11 *", "UTC", "2026-01-01T00:00:00Z")

    # --- Vixie cron day rules: OR when both day fields are restricted, AND when either
    #     starts with `*` (including `*/n`).
    case("vixie-or-1-15-mon", "0 0 1,15 * mon", "UTC", "2026-03-01T00:00:00Z")
    case("vixie-or-13-fri", "0 12 13 * 5", "UTC", "2026-02-01T00:00:00Z")
    case("vixie-or-first-week-sun", "0 0 1-7 * sun", "UTC", "2026-03-01T00:00:00Z")
    case("vixie-and-dom-star-step", "0 0 */2 * mon", "UTC", "2026-03-01T00:00:00Z")
    case("vixie-and-dow-star-step", "0 0 1 * */2", "UTC", "2026-01-01T00:00:00Z")
    case("vixie-dow-only", "0 0 * * mon", "UTC", "2026-03-01T00:00:00Z")
    case("vixie-or-ny", "30 2 8 3 sun", ny, "2026-03-01T00:00:00Z")
    case("vixie-or-leap-or-monday", "0 0 29 2 mon", "UTC", "2026-02-01T00:00:00Z")

    # --- Names, 0/7 Sunday, ranges, steps, lists, macros.
    case("sunday-7", "0 0 * * 7", "UTC", "2026-03-01T00:00:00Z")
    case("fri-to-sun-5-7", "0 0 * * 5-7", "UTC", "2026-03-02T00:00:00Z")
    case("sun-name-upper", "0 0 * * SUN", "UTC", "2026-03-02T00:00:00Z")
    case("weekday-names", "0 9 * * Mon-Fri", "UTC", "2026-03-06T00:00:00Z")
    case("month-names", "0 0 1 JAN,jul *", "UTC", "2026-02-01T00:00:00Z")
    case("month-name-range", "0 0 1 mar-may *", "UTC", "2026-01-01T00:00:00Z")
    case("step-7-minutes", "*/7 * * * *", "UTC", "2026-03-01T00:50:00Z")
    case("range-step", "5-59/20 * * * *", "UTC", "2026-03-01T00:00:00Z")
    case("hour-step", "0 */5 * * *", "UTC", "2026-03-01T12:00:00Z")
    case("start-step", "10/15 * * * *", "UTC", "2026-03-01T00:00:00Z")
    case("list-and-range", "0 8-10,14,20-22/2 * * *", "UTC", "2026-03-01T09:30:00Z")
    case("yearly", "@yearly", "UTC", "2026-01-01T00:00:00Z")
    case("annually-ny", "@annually", ny, "2026-01-01T00:00:00Z")
    case("monthly-berlin", "@monthly", ber, "2026-01-15T00:00:00Z")
    case("midnight-lhi", "@midnight", lhi, "2026-04-03T00:00:00Z")
    case("weekly-lon", "@weekly", lon, "2026-03-20T00:00:00Z")

    # --- The reference instant itself: strictly after, sub-second, and far dates.
    case("strictly-after-a-fire", "0 * * * *", "UTC", "2026-03-01T10:00:00Z")
    case("sub-second-before-fire", "0 * * * *", "UTC", "2026-03-01T09:59:59.999Z")
    case("sub-second-after-fire", "0 * * * *", "UTC", "2026-03-01T10:00:00.5Z")
    case("at-ny-transition-instant", "* * * * *", ny, "2026-03-08T07:00:00Z")
    case("at-lhi-transition-instant", "*/10 2 * * *", lhi, "2026-10-03T15:30:00Z")
    case("before-1970", "0 0 1 * *", "UTC", "1969-11-15T00:00:00Z")
    case("far-future", "0 0 1 1 *", "UTC", "2400-01-01T00:00:00Z")
