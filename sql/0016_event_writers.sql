-- Who may still commit an event id (store/events.cpp). 0005/0007 gave readers only "the oldest
-- xid still running", which is cluster-wide: any long write transaction, even one that writes no
-- event (a gc batch, a migration, another application's), held every SSE reader at every gap
-- until its 30 s wait ran out, and an event whose transaction committed after that wait was
-- never delivered. Now the id default also takes a shared advisory lock (key 0x6374666c6f7701)
-- for the rest of the transaction, before it takes the id: pg_locks then names exactly the
-- transactions that may still commit an event, and a reader waits only for those that held the
-- lock when it saw the gap. Shared locks never conflict with each other; the cost is one lock
-- per event-writing transaction (later calls in the same transaction find it held).
ALTER TABLE events ALTER COLUMN id SET DEFAULT
  (CASE WHEN pg_current_xact_id() IS NOT NULL
             AND pg_try_advisory_xact_lock_shared(27994005949085441)
        THEN nextval('events_id_seq') ELSE nextval('events_id_seq') END);
