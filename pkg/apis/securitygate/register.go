// Package securitygate holds the API group name shared by every version.
package securitygate

// GroupName is the API group of the security-gate policy kinds.
const GroupName = "securitygate.dev"
