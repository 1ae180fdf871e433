package signed

// For the external tests: sign as a client would.
var (
	SignHMAC    = signHMAC
	SignHMACRaw = signHMACRaw
	OrZero      = orZero
)
