-- A stack built for several architectures is published as one image index: image_digest (and the
-- tag, pins and retirement) name the index, and this column keeps each platform image under it:
-- [{"architecture": "arm64", "platform": "linux/arm64", "digest": "sha256:...", "compressedBytes": ...,
--   "layers": [...], "packages": N, "lockDigest": "sha256:..."}, ...]. NULL for a single image.
ALTER TABLE build ADD COLUMN platforms jsonb;

-- The evidence of an index: its own signature and attestations (subject_digest NULL: the build's image,
-- the index) and each platform image's (subject_digest: that platform image's digest).
ALTER TABLE evidence ADD COLUMN subject_digest text;
