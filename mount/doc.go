// Package mount mounts layers: mounts as values (Mount, Overlay), loop
// devices that free themselves (AttachLoop, MountSquashfs), and a stack of
// layers as a Plan — pure data that tests check — performed by one Stack that
// owns every mount and loop device it makes and releases them with one Close.
// Build, shell, save and the init stack layers through it.
package mount
