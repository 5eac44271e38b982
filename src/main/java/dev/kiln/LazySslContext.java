package dev.kiln;

import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.function.Supplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * An SSLContext that builds the real one on the first TLS connection. {@code java.net.http.HttpClient}
 * initialises its context when the client is built, and the JDK's default context reads the CA store
 * and loads some 500 classes: a quarter of a second of every CLI command, though Debian archives are
 * usually fetched over plain HTTP. The client must be given {@link #parameters()} too, or it asks the
 * context for its defaults up front.
 */
final class LazySslContext extends SSLContext {

    LazySslContext(Supplier<SSLContext> real) {
        super(new Spi(real), null, "TLS");
    }

    /** The JDK's default context, as a client gets without a context of its own. */
    static SSLContext jdkDefault() {
        try {
            return SSLContext.getDefault();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** TLS 1.3 and 1.2; cipher suites and the rest are the engine's defaults. */
    static SSLParameters parameters() {
        SSLParameters parameters = new SSLParameters();
        parameters.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        return parameters;
    }

    private static final class Spi extends SSLContextSpi {
        private final Supplier<SSLContext> supplier;
        private volatile SSLContext real;

        Spi(Supplier<SSLContext> supplier) {
            this.supplier = supplier;
        }

        private SSLContext real() {
            SSLContext context = real;
            if (context == null) {
                synchronized (this) {
                    if (real == null) {
                        real = supplier.get();
                    }
                    context = real;
                }
            }
            return context;
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom random) {
            throw new UnsupportedOperationException("a lazy context is initialised by the context it stands for");
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return real().getSocketFactory();
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return real().getServerSocketFactory();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return real().createSSLEngine();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return real().createSSLEngine(host, port);
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return real().getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return real().getClientSessionContext();
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            return real().getDefaultSSLParameters();
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return real().getSupportedSSLParameters();
        }
    }
}
