-- iso() as STABLE (the volatility of the to_char it calls) instead of IMMUTABLE: PostgreSQL inlines
-- a SQL function only when its declared volatility is not below its body's, so as IMMUTABLE it
-- ran as a function call per value (about 6 us each). The API's list of 50 runs formats 200
-- instants: 1.7 ms -> 0.5 ms of execution (make bench-api, docs/benchmarks.md "REST API").
CREATE OR REPLACE FUNCTION iso(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN t IS NULL THEN NULL
              WHEN date_part('microseconds', t)::bigint % 1000000 = 0
                THEN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
              ELSE to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END
$$;
