-- The retention policy each stack last had in the catalog. A stack removed from the catalog (or broken
-- there) keeps being retired by it, so its images do not live for ever.

ALTER TABLE stack ADD COLUMN keep_last int;
ALTER TABLE stack ADD COLUMN keep_days int;
ALTER TABLE stack ADD COLUMN keep_pulled_days int;
