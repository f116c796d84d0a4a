import Foundation
import NIOCore

/// How `printplane cache run` runs. Every field has a default; the CLI only maps flags.
public struct DriverCacheConfiguration: Sendable {
    /// Holds the credential (0600), the CA, the verified packages, the manifests and the TLS key.
    public var stateDirectory: String
    /// Address to bind (`0.0.0.0` serves every interface of the LAN host).
    public var host: String = "0.0.0.0"
    /// TCP port; 0 picks a free one (tests), read back with ``DriverCacheService/boundPort``.
    public var port: Int = 8444
    /// Names and addresses to ask the control plane's CA to certify; empty: the host of the URL
    /// the cache is registered under (the only one it will certify anyway).
    public var tlsNames: [String] = []
    /// A certificate chain PEM to serve instead of one signed by the control plane's CA
    /// (for a server running with a given certificate, which holds no CA key).
    public var tlsCertificatePath: String?
    /// The private key PEM for ``tlsCertificatePath``.
    public var tlsKeyPath: String?
    /// Package downloads streamed at once; past it agents get 503 with `Retry-After`.
    public var maxConcurrentDownloads: Int = 256
    /// How often the signed manifests (and the registration) are fetched from the cloud.
    public var manifestRefreshInterval: Duration = .seconds(60)
    /// A request for a digest the last list did not name (a driver just published) refreshes
    /// the list, but lists are fetched at most this often: a stream of made-up digests costs
    /// the cloud one small call per interval.
    public var unknownDigestRefreshInterval: Duration = .seconds(1)
    /// How long a request waits for a package being fetched from the cloud before it is
    /// answered 503 with `Retry-After` (the fetch goes on).
    public var missWait: Duration = .seconds(20)
    /// How long a package that failed to fetch or verify is answered 502 at once, before it is tried again.
    public var failureBackoff: Duration = .seconds(30)
    /// How often the certificate's age is checked (it is renewed when a third of its life is left).
    public var certificateCheckInterval: Duration = .seconds(3600)
    /// First wait between attempts to get a certificate when there is none (doubles to 5 minutes).
    public var certificateRetry: Duration = .seconds(5)
    /// Read timeout of the cloud connection.
    public var upstreamTimeout: TimeAmount = .seconds(60)
    /// How long a connection to the cloud may take (refused connections are retried until then).
    public var upstreamConnectTimeout: TimeAmount = .seconds(10)
    /// Attempts per package fetch from the cloud (cuts resume with `Range`; `503`s are waited out).
    public var upstreamAttempts: Int = 4
    /// Seconds before an idle agent connection is closed.
    public var idleTimeoutSeconds: Int = 60

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    public var caPath: String { "\(self.stateDirectory)/ca.pem" }
    public var driversDirectory: String { "\(self.stateDirectory)/drivers" }
    /// The last registration and signed manifest list from the cloud, so a restart while the
    /// cloud is unreachable still serves what it holds.
    public var manifestsPath: String { "\(self.stateDirectory)/manifests.json" }
    public var tlsDirectory: String { "\(self.stateDirectory)/tls" }
    public var tlsKeyFile: String { "\(self.tlsDirectory)/key.pem" }
    public var tlsCertificateFile: String { "\(self.tlsDirectory)/cert.pem" }
}
