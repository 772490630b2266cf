-- Every deployment names a version that exists: deployments (model_id, version) references
-- model_versions (model_id, version), the key model_versions is unique on.
--
-- Both deploy paths (a task's registry operations and the API) check that the version exists,
-- so no ctflow wrote a deployment that breaks this; a row written by hand that does is removed
-- first (an alias pointing at a missing version could never be served), so the constraint holds
-- for the existing data as well as for new rows. The index serves the constraint's checks when
-- versions change and the lookups of a version's aliases.
DELETE FROM deployments d
WHERE NOT EXISTS (SELECT 1 FROM model_versions v
                  WHERE v.model_id = d.model_id AND v.version = d.version);

ALTER TABLE deployments
  ADD CONSTRAINT deployments_version_fkey FOREIGN KEY (model_id, version)
  REFERENCES model_versions (model_id, version);

CREATE INDEX deployments_model_version ON deployments (model_id, version);
