package dev.kiln.evidence;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One attestation's predicate: its in-toto {@code predicateType}, the name {@code cosign verify-attestation
 * --type} knows it by, and the predicate itself as JSON (UTF-8), ready to go into an in-toto statement.
 */
public record Predicate(String predicateType, String cosignType, byte[] json) {

    public Predicate {
        json = json.clone();
    }

    @Override
    public byte[] json() {
        return json.clone();
    }

    public String text() {
        return new String(json, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Predicate p && p.predicateType.equals(predicateType) && p.cosignType.equals(cosignType)
                && Arrays.equals(p.json, json);
    }

    @Override
    public int hashCode() {
        return predicateType.hashCode() * 31 + Arrays.hashCode(json);
    }

    @Override
    public String toString() {
        return predicateType + " (" + json.length + " bytes)";
    }
}
