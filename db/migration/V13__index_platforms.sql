-- A stack built for several architectures is published as one image index: image_digest (and the
-- tag, pins and retirement) name the index, and this column keeps each platform image under it:
-- [{"architecture": "arm64", "platform": "linux/arm64", "digest": "sha256:...", "compressedBytes": ...,
--   "layers": [...], "packages": N, "lockDigest": "sha256:..."}, ...]. NULL for a single image.
ALTER TABLE build ADD COLUMN platforms jsonb;
