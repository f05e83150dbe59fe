// Package fleet decides which machine boots what: the rules of a site file
// (machines selected by MAC, SMBIOS UUID or serial, hardware facts or host
// name, each giving a chain, kernel arguments and metadata), the machines
// the server has seen with the rule each matched and why, and one-shot
// next-boot actions cleared by the boot report that fulfils them.
package fleet
