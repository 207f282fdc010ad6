package io.sluice.support;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Certificates made for a test, written as PEM files: a CA, and server or client certificates it
 * signed. A server certificate names localhost and 127.0.0.1, so hostname checks pass on loopback.
 */
public final class Certificates {

  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  /** A certificate and its key, as PEM files. */
  public record Pem(Path cert, Path key) {
  }

  private final Path dir;
  private final String name;
  private final KeyPair caKeys;
  private final X509CertificateHolder caCert;
  private final Pem ca;

  private Certificates(Path dir, String name) throws Exception {
    this.dir = dir;
    this.name = name;
    this.caKeys = keys();
    X500Name subject = new X500Name("CN=" + name + " test CA");
    JcaX509v3CertificateBuilder builder = builder(subject, subject, caKeys);
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    this.caCert = builder.build(signer(caKeys));
    this.ca = write(name + "-ca", caCert, caKeys);
  }

  /** A new CA whose files go to {@code dir}. */
  public static Certificates authority(Path dir, String name) {
    try {
      return new Certificates(dir, name);
    } catch (Exception e) {
      throw new IllegalStateException("cannot make a test CA", e);
    }
  }

  /** The CA's own certificate, which clients or servers trust. */
  public Path caCert() {
    return ca.cert();
  }

  /** A certificate for a server on localhost / 127.0.0.1, signed by this CA. */
  public Pem server(String cn) {
    return issue(cn, true);
  }

  /** A client certificate signed by this CA. */
  public Pem client(String cn) {
    return issue(cn, false);
  }

  private Pem issue(String cn, boolean server) {
    try {
      KeyPair keys = keys();
      JcaX509v3CertificateBuilder builder = builder(caCert.getSubject(), new X500Name("CN=" + cn), keys);
      if (server) {
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
            new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
      }
      return write(name + "-" + cn, builder.build(signer(caKeys)), keys);
    } catch (Exception e) {
      throw new IllegalStateException("cannot issue a test certificate", e);
    }
  }

  private static JcaX509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()),
        Date.from(now.minus(1, ChronoUnit.HOURS)), Date.from(now.plus(1, ChronoUnit.DAYS)), subject, keys.getPublic());
  }

  private static ContentSigner signer(KeyPair keys) throws Exception {
    return new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate());
  }

  private static KeyPair keys() throws NoSuchAlgorithmException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    return generator.generateKeyPair();
  }

  private Pem write(String file, X509CertificateHolder cert, KeyPair keys) {
    try {
      Path certPath = dir.resolve(file + ".crt");
      Path keyPath = dir.resolve(file + ".key");
      Files.writeString(certPath, pem(cert));
      // PKCS#8, which Vert.x and redis-server both read.
      Files.writeString(keyPath, pem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(keys.getPrivate(), null)));
      return new Pem(certPath, keyPath);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String pem(Object object) throws IOException {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    }
    return out.toString();
  }
}
