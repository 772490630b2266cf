-- Event ids without a global lock. Before this, every transaction that wrote events took one
-- advisory lock until it committed, so ids were handed out in commit order and an SSE reader
-- could resume "after id N" without missing anything; it also serialised every submission with
-- every engine pass (make bench-api). Now ids come from the sequence as before, but each
-- transaction has its xid before it takes one (this trigger), and readers (store/events.cpp)
-- never pass an id that is missing while a transaction that could still commit it is running:
-- a missing id below a visible one is skipped only once every xid assigned before it was seen
-- missing has ended.
CREATE FUNCTION events_take_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_current_xact_id();  -- assigns this transaction's xid if it has none yet
  NEW.id := nextval('events_id_seq');
  RETURN NEW;
END
$$;
ALTER TABLE events ALTER COLUMN id DROP DEFAULT;
CREATE TRIGGER events_take_id BEFORE INSERT ON events
  FOR EACH ROW EXECUTE FUNCTION events_take_id();
