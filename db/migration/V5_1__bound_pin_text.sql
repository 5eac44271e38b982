-- A pin's reasons are bounded and free of control characters (the API refuses them first, with a
-- specific message). A trigger rather than a CHECK: rows written before this bound existed may still
-- be unpinned, and a CHECK would be evaluated again on that update.

CREATE FUNCTION kiln_bounded_pin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND (char_length(NEW.reason) NOT BETWEEN 1 AND 1000 OR NEW.reason ~ '[[:cntrl:]]'
                             OR char_length(NEW.pinned_by) > 300) THEN
        RAISE EXCEPTION 'pin: the reason must be 1 to 1000 characters without control characters';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.unpin_reason IS DISTINCT FROM OLD.unpin_reason
       AND (char_length(NEW.unpin_reason) NOT BETWEEN 1 AND 1000 OR NEW.unpin_reason ~ '[[:cntrl:]]'
            OR char_length(NEW.unpinned_by) > 300) THEN
        RAISE EXCEPTION 'pin: the unpin reason must be 1 to 1000 characters without control characters';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER pin_bounded BEFORE INSERT OR UPDATE ON pin FOR EACH ROW EXECUTE FUNCTION kiln_bounded_pin();
