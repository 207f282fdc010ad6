# Sluice: build the fat jar with the same command as scripts/fleet.sh (mvn -B -DskipTests package),
# then run it on a slim JRE as a non-root user.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
COPY src src
COPY lua lua
# The client library's sources, compiled into the server (its demo backend uses the middleware).
COPY sluice-client/src sluice-client/src
RUN mvn -B -DskipTests package

FROM eclipse-temurin:17-jre
RUN useradd --system --uid 10001 --home-dir /app sluice
WORKDIR /app
COPY --from=build /src/target/sluice.jar /app/sluice.jar
COPY conf /app/conf
# The launcher sets the JVM flags (a small fixed heap, the serial collector) and keeps a class-data-sharing
# archive next to the jar, made by the container's first start: /app is the user's, so it can write it.
COPY scripts/sluice /app/sluice
# Run once by compose's admin-token service, as scripts/fleet.sh runs it.
COPY scripts/admin-token.sh /app/admin-token.sh
RUN chown sluice /app
ENV SLUICE_JAR=/app/sluice.jar
USER sluice
EXPOSE 50051 8081
# Ready means Redis answers and the scripts and limits are loaded (/health/ready); bash's /dev/tcp needs no curl.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${SLUICE_HTTP_PORT:-8081} && printf 'GET /health/ready HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200'"]
ENTRYPOINT ["/app/sluice"]
