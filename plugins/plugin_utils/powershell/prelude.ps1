# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Prelude of collect.ps1, commit.ps1 and backup.ps1: the helpers they share. Windows
# PowerShell 5.1. plugin_utils/windows_host.py sends it in front of the
# script, as one script (prelude.ps1, a newline, then collect.ps1 or
# commit.ps1). Its pitfalls are listed in docs/windows.md; the Python twin of
# every function is in tests/windows/twin.py.
# Argument: the request, base64 of its UTF-8 JSON. Output: one line,
# "RECTORAT-TB-RESPONSE " + base64 of the UTF-8 JSON response.
param([string]$RequestB64)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Protocol = 1
$DefaultMaxFileBytes = 16777216
# Owners a file of a profile may have besides the profile folder's owner:
# SYSTEM, Administrators, and the account running this script, which owns
# what commit wrote ([IO.File]::Replace keeps the DACL, not the owner, and
# an administrator's new files are its own where the policy says "Object
# creator", the default of Windows client editions).
$identity = [Security.Principal.WindowsIdentity]::GetCurrent()
$TrustedOwners = @('S-1-5-18', 'S-1-5-32-544', $identity.User.Value)
$identity.Dispose()

function Get-InnerException {
    # What a .NET method threw: PowerShell wraps it in MethodInvocationException.
    param($ErrorRecord)
    $ex = $ErrorRecord.Exception
    while ($ex -is [Management.Automation.MethodInvocationException] -and $null -ne $ex.InnerException) {
        $ex = $ex.InnerException
    }
    return $ex
}

function Get-Field {
    # A member of a deserialized JSON object, $null when absent. A list comes
    # out unrolled: read lists with Get-ListField.
    param($Map, [string]$Name)
    if ($null -ne $Map -and $Map.ContainsKey($Name)) {
        return $Map[$Name]
    }
    return $null
}

function Get-ListField {
    # A JSON list as a list, empty when absent or null: @(Get-Field ...) of a
    # null has Count 1.
    param($Map, [string]$Name)
    $list = New-Object -TypeName 'Collections.Generic.List[object]'
    $value = Get-Field $Map $Name
    if ($null -ne $value) {
        foreach ($item in @($value)) {
            $list.Add($item)
        }
    }
    return , $list
}

function Split-NativePath {
    # Parent folder and name of an absolute path. The parent of D:\TBProfile
    # is D:\ ("D:" alone means the current folder on D:).
    param([string]$Path)
    $path = $Path.TrimEnd('\')
    $slash = $path.LastIndexOf('\')
    $parent = $path.Substring(0, $slash)
    if ($parent -match '^[A-Za-z]:$') {
        $parent = $parent + '\'
    }
    return @{ parent = $parent; name = $path.Substring($slash + 1) }
}

function ConvertTo-LongPath {
    # The \\?\ form of an absolute path, which .NET Framework accepts past
    # 260 characters (PathTooLongException otherwise).
    param([string]$Path)
    if ($Path.StartsWith('\\?\')) {
        return $Path
    }
    if ($Path.StartsWith('\\')) {
        return '\\?\UNC\' + $Path.Substring(2)
    }
    if ($Path -match '^[A-Za-z]:$') {
        return '\\?\' + $Path + '\'
    }
    return '\\?\' + $Path
}

function Test-ReparsePoint {
    # Junctions and symbolic links are reparse points; they are reported, never followed.
    param([IO.FileSystemInfo]$Info)
    return [bool]($Info.Attributes -band [IO.FileAttributes]::ReparsePoint)
}

function Test-SharingViolation {
    param($Exception)
    return ($Exception -is [IO.IOException]) -and (($Exception.HResult -band 0xFFFF) -in @(32, 33))
}

function Get-ChildEntry {
    # The entry named $Name in folder $Dir, matched without regard to case as
    # Windows does, under its name on disk; $null when it does not exist.
    param([string]$Dir, [string]$Name)
    if ($Name.IndexOfAny([char[]]'*?') -ge 0) {
        return $null
    }
    try {
        $found = (New-Object -TypeName IO.DirectoryInfo -ArgumentList (ConvertTo-LongPath $Dir)).GetFileSystemInfos($Name)
    }
    catch {
        $ex = Get-InnerException $_
        if ($ex -is [IO.DirectoryNotFoundException]) {
            return $null
        }
        throw $ex
    }
    foreach ($info in $found) {
        if ($info.Name -ieq $Name) {
            return $info
        }
    }
    if ($found.Count -gt 0) {
        return $found[0]
    }
    return $null
}

function Get-HandleOwner {
    # Owner SID of an open file, read on its handle, not on its path.
    param([IO.FileStream]$Stream)
    return $Stream.GetAccessControl().GetOwner([Security.Principal.SecurityIdentifier]).Value
}

function Get-FolderOwner {
    param([string]$Dir)
    $security = [IO.Directory]::GetAccessControl((ConvertTo-LongPath $Dir), [Security.AccessControl.AccessControlSections]::Owner)
    return $security.GetOwner([Security.Principal.SecurityIdentifier]).Value
}

function Test-ForeignOwner {
    # Whether $Owner is neither $FolderOwner (the profile folder's) nor
    # SYSTEM or Administrators; never when the folder's owner is unknown.
    param([string]$Owner, [string]$FolderOwner)
    if (-not $FolderOwner) {
        return $false
    }
    return ($Owner -ne $FolderOwner) -and ($TrustedOwners -notcontains $Owner)
}

function Read-RawFile {
    # The bytes of a file (never decoded as text) and its owner, both read on
    # one handle; data is $null when the file holds more than $Limit bytes.
    param([string]$Path, [long]$Limit)
    $share = [IO.FileShare]::ReadWrite -bor [IO.FileShare]::Delete
    $stream = [IO.File]::Open((ConvertTo-LongPath $Path), [IO.FileMode]::Open, [IO.FileAccess]::Read, $share)
    try {
        $result = @{ data = $null; size = $stream.Length; owner = Get-HandleOwner $stream }
        if ($stream.Length -gt $Limit) {
            return $result
        }
        $buffer = New-Object -TypeName IO.MemoryStream
        $chunk = New-Object -TypeName byte[] -ArgumentList 65536
        while ($buffer.Length -le $Limit) {
            $count = $stream.Read($chunk, 0, $chunk.Length)
            if ($count -le 0) {
                break
            }
            $buffer.Write($chunk, 0, $count)
        }
        $result.size = $buffer.Length
        if ($buffer.Length -le $Limit) {
            $result.data = $buffer.ToArray()
        }
        return $result
    }
    finally {
        $stream.Dispose()
    }
}

function Write-NewFile {
    # Create $Path (it must not exist) with $Data, flushed to disk.
    param([string]$Path, [byte[]]$Data)
    $stream = New-Object -TypeName IO.FileStream -ArgumentList @(
        $Path, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write, [IO.FileShare]::None)
    try {
        $stream.Write($Data, 0, $Data.Length)
        $stream.Flush($true)
    }
    catch {
        $stream.Dispose()
        [IO.File]::Delete($Path)
        throw
    }
    $stream.Dispose()
}

function Invoke-Replace {
    # [IO.File]::Replace, keeping the old file under $Old: with no backup
    # name, a Replace that fails half-way deletes it. If it failed after
    # moving the old file aside, the old file goes back to its name.
    param([string]$Source, [string]$Target, [string]$Old)
    try {
        [IO.File]::Replace($Source, $Target, $Old)
    }
    catch {
        if (-not [IO.File]::Exists($Target) -and [IO.File]::Exists($Old)) {
            [IO.File]::Move($Old, $Target)
        }
        throw
    }
}

function Get-Sha256Hex {
    param([byte[]]$Data)
    $sha = New-Object -TypeName Security.Cryptography.SHA256CryptoServiceProvider
    try {
        return [BitConverter]::ToString($sha.ComputeHash($Data)).Replace('-', '').ToLowerInvariant()
    }
    finally {
        $sha.Dispose()
    }
}

function New-Refusal {
    # An exception carrying the protocol status of the profile.
    param([string]$Status, [string]$Message)
    $refusal = New-Object -TypeName InvalidOperationException -ArgumentList $Message
    $refusal.Data['status'] = $Status
    return $refusal
}

function Resolve-ProfileFolder {
    # The profile folder, walked from the home (when the profile lies below
    # it) so that no component below the home can be a junction or a link.
    param($Entry)
    $path = ([string](Get-Field $Entry 'path')).TrimEnd('\')
    $base = ([string](Get-Field $Entry 'home')).TrimEnd('\')
    if ($base -and $path.StartsWith($base + '\', [StringComparison]::OrdinalIgnoreCase)) {
        $parts = $path.Substring($base.Length + 1).Split('\')
    }
    else {
        $split = Split-NativePath $path
        $base = $split.parent
        $parts = @($split.name)
    }
    $current = $base.TrimEnd('\')
    $walked = New-Object -TypeName 'Collections.Generic.List[string]'
    foreach ($part in $parts) {
        if (-not $part) {
            continue
        }
        $info = Get-ChildEntry $current $part
        if ($null -eq $info) {
            throw (New-Refusal 'error' ('{0}: profile folder not found' -f $path))
        }
        $walked.Add($info.Name)
        if (Test-ReparsePoint $info) {
            throw (New-Refusal 'error' ('refused: {0} is a symbolic link' -f ($walked -join '/')))
        }
        if (-not ($info -is [IO.DirectoryInfo])) {
            throw (New-Refusal 'error' ('{0}: not a folder' -f $path))
        }
        $current = $current + '\' + $info.Name
    }
    return $current
}

function Open-ProfileLock {
    # Hold parent.lock sharing nothing, as Thunderbird does; refused while
    # Thunderbird runs. Only a parent.lock this run creates is deleted when
    # closed: Thunderbird keeps its own and reads its time.
    param([string]$Dir)
    $existing = Get-ChildEntry $Dir 'parent.lock'
    if ($null -ne $existing -and (Test-ReparsePoint $existing)) {
        throw (New-Refusal 'error' 'parent.lock is a symbolic link')
    }
    $path = $Dir + '\parent.lock'
    $access = [IO.FileAccess]::ReadWrite
    try {
        if ($null -eq $existing) {
            return New-Object -TypeName IO.FileStream -ArgumentList @(
                $path, [IO.FileMode]::CreateNew, $access, [IO.FileShare]::None, 1, [IO.FileOptions]::DeleteOnClose)
        }
        return New-Object -TypeName IO.FileStream -ArgumentList @($path, [IO.FileMode]::Open, $access, [IO.FileShare]::None)
    }
    catch {
        $ex = Get-InnerException $_
        if (Test-SharingViolation $ex) {
            throw (New-Refusal 'running' 'Thunderbird started with this profile')
        }
        throw (New-Refusal 'error' ('cannot open parent.lock: ' + $ex.Message))
    }
}

function Test-ProcessAlive {
    param([int]$ProcessId)
    try {
        [Diagnostics.Process]::GetProcessById($ProcessId).Dispose()
        return $true
    }
    catch {
        return $false
    }
}

function Invoke-Script {
    # Run $Body on the request and return the response line. Each form of
    # the response is dropped once the next exists: it can be large.
    param([string]$Name, [scriptblock]$Body)
    try {
        Add-Type -AssemblyName System.Web.Extensions
        $serializer = New-Object -TypeName Web.Script.Serialization.JavaScriptSerializer
        $serializer.MaxJsonLength = [int]::MaxValue
        $request = $serializer.DeserializeObject([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($RequestB64)))
        $response = & $Body $request
    }
    catch {
        $response = @{
            protocol = $Protocol
            fatal = '{0}.ps1 (after the prelude) line {1}: {2}' -f $Name, $_.InvocationInfo.ScriptLineNumber, (Get-InnerException $_).Message
        }
    }
    $request = $null
    $json = ConvertTo-Json -InputObject $response -Depth 32 -Compress
    $response = $null
    $bytes = [Text.Encoding]::UTF8.GetBytes($json)
    $json = $null
    return 'RECTORAT-TB-RESPONSE ' + [Convert]::ToBase64String($bytes)
}
