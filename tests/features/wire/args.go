package wire

// ConnMaterial is update/self's workflow argument: how its activity reaches the server.
type ConnMaterial struct {
	HostPort       string
	Namespace      string
	Identity       string
	ClientCertPath string
	ClientKeyPath  string
	CACertPath     string
	TLSServerName  string
}
