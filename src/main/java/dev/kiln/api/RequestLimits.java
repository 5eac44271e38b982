package dev.kiln.api;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Bounds every request body, before anything reads it: a declared length over the limit is refused at
 * once (413), and a body without one (chunked) is counted while it is read and fails at the first byte
 * over. Runs ahead of the security filters, so not even a sign-in attempt can send more.
 */
final class RequestLimits extends OncePerRequestFilter {

    private final long maxBodyBytes;

    RequestLimits(long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    /** A body over the limit, found while reading it. */
    static final class BodyTooLarge extends IOException {
        BodyTooLarge(long max) {
            super("the request body is larger than " + max + " bytes");
        }
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (request.getContentLengthLong() > maxBodyBytes) {
            Problems.write(request, response, HttpStatus.CONTENT_TOO_LARGE, "body-too-large",
                    "the request body is larger than " + maxBodyBytes + " bytes", closing());
            return;
        }
        chain.doFilter(new HttpServletRequestWrapper(request) {
            private ServletInputStream counted;

            @Override
            public ServletInputStream getInputStream() throws IOException {
                if (counted == null) {
                    counted = new Counted(super.getInputStream(), maxBodyBytes);
                }
                return counted;
            }
        }, response);
    }

    private static HttpHeaders closing() {
        HttpHeaders headers = new HttpHeaders();
        headers.add("Connection", "close");
        return headers;
    }

    private static final class Counted extends ServletInputStream {
        private final ServletInputStream in;
        private final long max;
        private long read;

        Counted(ServletInputStream in, long max) {
            this.in = in;
            this.max = max;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = in.read(buffer, offset, length);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        private void count(int n) throws BodyTooLarge {
            read += n;
            if (read > max) {
                throw new BodyTooLarge(max);
            }
        }

        @Override
        public boolean isFinished() {
            return in.isFinished();
        }

        @Override
        public boolean isReady() {
            return in.isReady();
        }

        @Override
        public void setReadListener(ReadListener listener) {
            in.setReadListener(listener);
        }
    }
}
