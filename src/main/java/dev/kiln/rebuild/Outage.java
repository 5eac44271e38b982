package dev.kiln.rebuild;

import dev.kiln.debian.DebianException;
import dev.kiln.publish.PublishException;
import java.io.EOFException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The peer whose outage ended a build, if that is what ended it: the database, the image registry (or
 * ECR) or the Debian archive. Such a build is worth retrying once the peer is back. Anything else (a bad
 * signature, a missing package, a failed check, a refused push, an HTTP 4xx) would fail the same way
 * again and is not an outage.
 */
public enum Outage {
    DATABASE("the database"), REGISTRY("the registry"), ARCHIVE("the archive");

    /** A peer that answers but cannot serve now: 5xx, or 429 (too many requests), as Kiln's and jib's messages put it. */
    private static final Pattern UNAVAILABLE = Pattern.compile("(?i)(?:HTTP|status(?: code)?:?)\\s*(?:5\\d\\d|429)\\b"
            + "|\\b(?:5\\d\\d|429) (?:Service Unavailable|Bad Gateway|Gateway Time-?out|Internal Server Error|Too Many Requests)");
    /** Apache HttpClient's (jib's transport) ways of saying the connection went away; not JDK types. */
    private static final Set<String> DROPPED = Set.of("org.apache.http.NoHttpResponseException",
            "org.apache.http.ConnectionClosedException", "org.apache.http.TruncatedChunkException");

    private final String words;

    Outage(String words) {
        this.words = words;
    }

    @Override
    public String toString() {
        return words;
    }

    /**
     * Classifies {@code failure}, which ended a build during {@code step} (the pipeline's step name, or
     * null before the first): a lost database connection anywhere; otherwise a network failure or an
     * unavailable answer is the archive's while resolving or fetching and the registry's while checking,
     * publishing or waiting for a scan (or whichever capability's exception carries it).
     */
    public static Optional<Outage> of(Throwable failure, String step) {
        if (database(failure)) {
            return Optional.of(DATABASE);
        }
        if (!unreachable(failure)) {
            return Optional.empty();
        }
        for (Throwable t : chain(failure)) {
            if (t instanceof DebianException) {
                return Optional.of(ARCHIVE);
            }
            if (t instanceof PublishException) { // ECR's failures reach the pipeline as these too
                return Optional.of(REGISTRY);
            }
        }
        if (step == null) {
            return Optional.empty();
        }
        return switch (step) {
            case "resolving", "fetching" -> Optional.of(ARCHIVE);
            case "checking the published image", "publishing", "attaching evidence", "verifying evidence" ->
                    Optional.of(REGISTRY);
            default -> Optional.empty();
        };
    }

    /** A lost or refused database connection (SQL state class 08, or the server shutting down: 57P01-57P03). */
    public static boolean database(Throwable failure) {
        for (Throwable t : chain(failure)) {
            if (t instanceof SQLTransientConnectionException || t instanceof SQLNonTransientConnectionException
                    || t instanceof SQLRecoverableException) {
                return true;
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null
                    && (sql.getSQLState().startsWith("08") || sql.getSQLState().matches("57P0[123]"))) {
                return true;
            }
            if (t.getClass().getName().equals("org.springframework.jdbc.CannotGetJdbcConnectionException")) {
                return true;
            }
        }
        return false;
    }

    private static boolean unreachable(Throwable failure) {
        for (Throwable t : chain(failure)) {
            if (t instanceof ConnectException || t instanceof NoRouteToHostException || t instanceof SocketTimeoutException
                    || t instanceof SocketException || t instanceof HttpTimeoutException || t instanceof EOFException
                    || t instanceof UnknownHostException || DROPPED.contains(t.getClass().getName())) {
                return true;
            }
            if (t.getMessage() != null && UNAVAILABLE.matcher(t.getMessage()).find()) {
                return true;
            }
        }
        return false;
    }

    private static Iterable<Throwable> chain(Throwable failure) {
        java.util.List<Throwable> all = new java.util.ArrayList<>();
        Set<Throwable> seen = new HashSet<>();
        for (Throwable t = failure; t != null && seen.add(t); t = t.getCause()) {
            all.add(t);
            for (Throwable s : t.getSuppressed()) {
                if (seen.add(s)) {
                    all.add(s);
                }
            }
        }
        return all;
    }
}
