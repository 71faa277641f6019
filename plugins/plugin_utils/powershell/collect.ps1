# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Collect: a read-only snapshot of a Windows host's Thunderbird profiles.
# Windows PowerShell 5.1. Twin of plugins/module_utils/collect.py (POSIX) and
# of tests/windows/twin.py; the protocol is in docs/design.md. No Thunderbird
# logic here: only which folders to look in and which files to read.
# Argument: the request, base64 of its UTF-8 JSON. Output: one line,
# "RECTORAT-TB-RESPONSE " + base64 of the UTF-8 JSON response.
param([string]$RequestB64)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Protocol = 1
$ProfileFiles = @('prefs.js', 'user.js', 'folderCache.json', 'compatibility.ini')
$RootFiles = @('profiles.ini', 'installs.ini')
$StoreDirs = @('ImapMail', 'Mail')
$MaxTreeEntries = 200000
$DefaultMaxFileBytes = 16777216
$ProfileListKey = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList'
$ShellFoldersKey = 'Software\Microsoft\Windows\CurrentVersion\Explorer\User Shell Folders'
$NotUserFolders = @('Public', 'Default', 'Default User', 'All Users')

function Get-InnerException {
    param($ErrorRecord)
    $ex = $ErrorRecord.Exception
    while ($ex -is [Management.Automation.MethodInvocationException] -and $null -ne $ex.InnerException) {
        $ex = $ex.InnerException
    }
    return $ex
}

function Get-Field {
    # A member of a deserialized JSON object, $null when absent (a list
    # comes out unrolled: wrap the call in @() to get an array).
    param($Map, [string]$Name)
    if ($null -ne $Map -and $Map.ContainsKey($Name)) {
        return $Map[$Name]
    }
    return $null
}

function Join-Native {
    param([string]$Dir, [string]$Rel)
    return $Dir.TrimEnd('\') + '\' + $Rel.Replace('/', '\')
}

function ConvertTo-UnixTime {
    param([datetime]$Utc)
    return ($Utc.Ticks - 621355968000000000) / 10000000.0
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
        $found = (New-Object -TypeName IO.DirectoryInfo -ArgumentList $Dir).GetFileSystemInfos($Name)
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

function Read-RawFile {
    # The bytes of a file (never decoded as text), at most $Limit + 1 of them.
    param([string]$Path, [long]$Limit)
    $share = [IO.FileShare]::ReadWrite -bor [IO.FileShare]::Delete
    $stream = [IO.File]::Open($Path, [IO.FileMode]::Open, [IO.FileAccess]::Read, $share)
    try {
        $buffer = New-Object -TypeName IO.MemoryStream
        $chunk = New-Object -TypeName byte[] -ArgumentList 65536
        while ($buffer.Length -le $Limit) {
            $count = $stream.Read($chunk, 0, $chunk.Length)
            if ($count -le 0) {
                break
            }
            $buffer.Write($chunk, 0, $count)
        }
        return , $buffer.ToArray()
    }
    finally {
        $stream.Dispose()
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

function Get-FileRecord {
    # FILE of the protocol for $Name in $Dir; $null when absent.
    param([string]$Dir, [string]$Name, [long]$MaxBytes)
    $info = Get-ChildEntry $Dir $Name
    if ($null -eq $info) {
        return $null
    }
    $record = @{
        size = 0; uid = $null; gid = $null; mode = $null; error = $null
        mtime = ConvertTo-UnixTime $info.LastWriteTimeUtc
    }
    if (Test-ReparsePoint $info) {
        $record.error = '{0} is a symbolic link' -f $Name
        return $record
    }
    if ($info -is [IO.DirectoryInfo]) {
        $record.error = '{0} is not a regular file' -f $Name
        return $record
    }
    $record.size = $info.Length
    if ($info.Length -gt $MaxBytes) {
        $record.error = '{0} is too large ({1} bytes, limit {2})' -f $Name, $info.Length, $MaxBytes
        return $record
    }
    try {
        $data = Read-RawFile $info.FullName $MaxBytes
    }
    catch {
        $record.error = 'cannot read {0}: {1}' -f $Name, (Get-InnerException $_).Message
        return $record
    }
    if ($data.Length -gt $MaxBytes) {
        $record.error = '{0} is too large (limit {1} bytes)' -f $Name, $MaxBytes
        return $record
    }
    $record.size = $data.Length
    $record.sha256 = Get-Sha256Hex $data
    $record.b64 = [Convert]::ToBase64String($data)
    return $record
}

function Test-ProfileLock {
    # Thunderbird holds parent.lock open, sharing nothing, while it runs.
    param([string]$Dir)
    $lock = Get-ChildEntry $Dir 'parent.lock'
    if ($null -eq $lock) {
        return @{ running = $false; error = $null }
    }
    if (Test-ReparsePoint $lock) {
        return @{ running = $true; error = 'parent.lock is a symbolic link' }
    }
    try {
        $stream = [IO.File]::Open($lock.FullName, [IO.FileMode]::Open, [IO.FileAccess]::ReadWrite, [IO.FileShare]::None)
        $stream.Dispose()
        return @{ running = $false; error = $null }
    }
    catch {
        $ex = Get-InnerException $_
        if (Test-SharingViolation $ex) {
            return @{ running = $true; error = $null }
        }
        if ($ex -is [IO.FileNotFoundException]) {
            return @{ running = $false; error = $null }
        }
        return @{ running = $true; error = 'cannot test parent.lock: ' + $ex.Message }
    }
}

function Add-TreeEntry {
    # Append an ENTRY for everything below folder $Top of the profile.
    param([string]$ProfileDir, [string]$Top, $Entries, $Errors)
    $topInfo = Get-ChildEntry $ProfileDir $Top
    if ($null -eq $topInfo) {
        return
    }
    if (Test-ReparsePoint $topInfo) {
        $Errors.Add(('cannot open {0}: it is a symbolic link' -f $topInfo.Name))
        return
    }
    if (-not ($topInfo -is [IO.DirectoryInfo])) {
        $Errors.Add(('cannot open {0}: not a folder' -f $topInfo.Name))
        return
    }
    $stack = New-Object -TypeName 'Collections.Generic.Stack[object]'
    $stack.Push(@($topInfo.Name, $topInfo.FullName))
    while ($stack.Count -gt 0) {
        $item = $stack.Pop()
        $rel = $item[0]
        try {
            $children = (New-Object -TypeName IO.DirectoryInfo -ArgumentList $item[1]).GetFileSystemInfos()
        }
        catch {
            $Errors.Add(('cannot list {0}: {1}' -f $rel, (Get-InnerException $_).Message))
            continue
        }
        $subdirs = New-Object -TypeName 'Collections.Generic.List[object]'
        foreach ($child in ($children | Sort-Object -Property Name)) {
            $childRel = $rel + '/' + $child.Name
            $kind = 'file'
            $size = 0
            if (Test-ReparsePoint $child) {
                $kind = 'link'
            }
            elseif ($child -is [IO.DirectoryInfo]) {
                $kind = 'dir'
            }
            else {
                $size = $child.Length
            }
            $Entries.Add(@{
                    rel = $childRel; type = $kind; size = $size; uid = $null
                    mtime = ConvertTo-UnixTime $child.LastWriteTimeUtc
                })
            if ($kind -eq 'dir') {
                $subdirs.Add(@($childRel, $child.FullName))
            }
            if ($Entries.Count -gt $MaxTreeEntries) {
                $Errors.Add(('more than {0} files below the profile; listing stopped' -f $MaxTreeEntries))
                return
            }
        }
        for ($i = $subdirs.Count - 1; $i -ge 0; $i--) {
            $stack.Push($subdirs[$i])
        }
    }
}

function Get-MsfRecord {
    # The msf rule: read a .msf below ImapMail/ when folderCache.json is
    # absent or older than it.
    param([string]$ProfileDir, $Tree, $CacheRecord, [long]$MaxBytes)
    $cacheTime = $null
    if ($null -ne $CacheRecord -and $null -eq $CacheRecord.error) {
        $cacheTime = $CacheRecord.mtime
    }
    $out = @{}
    foreach ($entry in $Tree) {
        $rel = $entry.rel
        if ($entry.type -ne 'file' -or -not ($rel -like 'ImapMail/*') -or -not ($rel -like '*.msf')) {
            continue
        }
        if ($null -ne $cacheTime -and $entry.mtime -le $cacheTime) {
            continue
        }
        $slash = $rel.LastIndexOf('/')
        $out[$rel] = Get-FileRecord (Join-Native $ProfileDir $rel.Substring(0, $slash)) $rel.Substring($slash + 1) $MaxBytes
    }
    return $out
}

function Resolve-Below {
    # Walk $Parts down from $Base, case-insensitively, without following a
    # junction or symbolic link: the folder's path (names as on disk), or the
    # first component that is a link, or neither when something is missing.
    param([string]$Base, [string[]]$Parts)
    $path = $Base.TrimEnd('\')
    $walked = New-Object -TypeName 'Collections.Generic.List[string]'
    foreach ($part in $Parts) {
        $info = Get-ChildEntry $path $part
        if ($null -eq $info) {
            return @{ path = $null; symlink = $null }
        }
        $walked.Add($info.Name)
        if (Test-ReparsePoint $info) {
            return @{ path = $null; symlink = ($walked -join '/') }
        }
        if (-not ($info -is [IO.DirectoryInfo])) {
            return @{ path = $null; symlink = $null }
        }
        $path = $path + '\' + $info.Name
    }
    return @{ path = $path; symlink = $null }
}

function Get-ProfileSnapshot {
    param([string]$Base, [string[]]$Parts, $Root, $Owner, [bool]$Explicit, [long]$MaxBytes, [bool]$Redirected)
    $snapshot = @{
        path = Join-Native $Base ($Parts -join '\'); home = $Base; root = $Root
        user = $Owner.user; sid = $Owner.sid; uid = $null; gid = $null; explicit = $Explicit
        running = $false; lock_error = $null; symlink = $null; redirected = $Redirected
        files = @{}; tree = New-Object -TypeName 'Collections.Generic.List[object]'; msf = @{}; error = $null
    }
    $where = Resolve-Below $Base $Parts
    if ($null -ne $where.symlink) {
        $snapshot.symlink = $where.symlink
        return $snapshot
    }
    if ($null -eq $where.path) {
        $snapshot.error = 'cannot open profile folder: not found'
        return $snapshot
    }
    $snapshot.path = $where.path
    try {
        $lock = Test-ProfileLock $where.path
        $snapshot.running = $lock.running
        $snapshot.lock_error = $lock.error
        foreach ($name in $ProfileFiles) {
            $snapshot.files[$name] = Get-FileRecord $where.path $name $MaxBytes
        }
        $treeErrors = New-Object -TypeName 'Collections.Generic.List[string]'
        foreach ($top in $StoreDirs) {
            Add-TreeEntry $where.path $top $snapshot.tree $treeErrors
        }
        if ($treeErrors.Count -gt 0) {
            $snapshot.tree_errors = $treeErrors
        }
        $snapshot.msf = Get-MsfRecord $where.path $snapshot.tree $snapshot.files['folderCache.json'] $MaxBytes
    }
    catch {
        $snapshot.error = 'cannot read profile folder: ' + (Get-InnerException $_).Message
    }
    return $snapshot
}

function Test-HasPref {
    # A profile folder holds prefs.js; a linked one is kept so that it is reported.
    param([IO.FileSystemInfo]$Folder)
    if (Test-ReparsePoint $Folder) {
        return [IO.File]::Exists($Folder.FullName + '\prefs.js')
    }
    $prefs = Get-ChildEntry $Folder.FullName 'prefs.js'
    return ($null -ne $prefs) -and -not ($prefs -is [IO.DirectoryInfo] -and -not (Test-ReparsePoint $prefs))
}

function Get-CandidateProfile {
    # Relative paths ("/") of every direct child, and every child of
    # Profiles\, of $RootDir that holds a prefs.js.
    param([string]$RootDir)
    $found = New-Object -TypeName 'Collections.Generic.List[string]'
    $dirs = New-Object -TypeName 'Collections.Generic.List[object]'
    $dirs.Add(@($RootDir, ''))
    $profilesDir = Get-ChildEntry $RootDir 'Profiles'
    if ($null -ne $profilesDir -and $profilesDir -is [IO.DirectoryInfo] -and -not (Test-ReparsePoint $profilesDir)) {
        $dirs.Add(@($profilesDir.FullName, ($profilesDir.Name + '/')))
    }
    foreach ($dir in $dirs) {
        try {
            $children = (New-Object -TypeName IO.DirectoryInfo -ArgumentList $dir[0]).GetDirectories()
        }
        catch {
            continue
        }
        foreach ($child in ($children | Sort-Object -Property Name)) {
            if (Test-HasPref $child) {
                $found.Add($dir[1] + $child.Name)
            }
        }
    }
    return , $found
}

function Add-Root {
    param([string]$Base, [string]$Rel, [string]$Kind, $Owner, [long]$MaxBytes, [bool]$Redirected, $Roots, $Profiles)
    $parts = @($Rel -split '[/\\]' | Where-Object { $_ })
    $where = Resolve-Below $Base $parts
    if ($null -ne $where.symlink) {
        $Roots.Add(@{
                path = Join-Native $Base ($parts -join '\'); user = $Owner.user; sid = $Owner.sid; uid = $null; gid = $null
                home = $Base; kind = $Kind; redirected = $Redirected; files = @{}; symlink = $where.symlink
            })
        return
    }
    if ($null -eq $where.path) {
        return
    }
    $files = @{}
    foreach ($name in $RootFiles) {
        $files[$name] = Get-FileRecord $where.path $name $MaxBytes
    }
    $children = Get-CandidateProfile $where.path
    $Roots.Add(@{
            path = $where.path; user = $Owner.user; sid = $Owner.sid; uid = $null; gid = $null
            home = $Base; kind = $Kind; redirected = $Redirected; files = $files; symlink = $null
        })
    foreach ($child in $children) {
        $childParts = @($parts) + @($child -split '/')
        $Profiles.Add((Get-ProfileSnapshot $Base $childParts $where.path $Owner $false $MaxBytes $Redirected))
    }
}

function Resolve-AccountName {
    param([string]$Sid)
    try {
        $id = New-Object -TypeName Security.Principal.SecurityIdentifier -ArgumentList ($Sid -replace '\.bak$', '')
        return $id.Translate([Security.Principal.NTAccount]).Value
    }
    catch {
        return $null
    }
}

function Get-AppDataFolder {
    # The user's AppData\Roaming as their registry says, readable only while
    # their hive is loaded (they are logged on); $null otherwise.
    param([string]$Sid, [string]$UserHome, [string]$UserName)
    if (-not $Sid) {
        return $null
    }
    try {
        $key = Get-Item -LiteralPath ('Registry::HKEY_USERS\' + $Sid + '\' + $ShellFoldersKey)
        $raw = $key.GetValue('AppData', $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    }
    catch {
        return $null
    }
    if (-not $raw) {
        return $null
    }
    # The user's own variables, not those of this session.
    $value = ([string]$raw) -ireplace '%USERPROFILE%', $UserHome.Replace('$', '$$')
    $value = $value -ireplace '%USERNAME%', $UserName.Replace('$', '$$')
    return [Environment]::ExpandEnvironmentVariables($value).TrimEnd('\')
}

function Get-UserHome {
    # Every user profile of the registry's ProfileList (local, domain and
    # Azure AD accounts), else every folder of C:\Users.
    param($Errors)
    $users = New-Object -TypeName 'Collections.Generic.List[object]'
    $seen = @{}
    try {
        $keys = @(Get-ChildItem -LiteralPath $ProfileListKey)
    }
    catch {
        $Errors.Add('cannot read the ProfileList of the registry: ' + (Get-InnerException $_).Message)
        $keys = @()
    }
    foreach ($key in $keys) {
        $sid = $key.PSChildName
        if ($sid -notmatch '^S-1-(5-21|12-1)-') {
            continue
        }
        $raw = $key.GetValue('ProfileImagePath')
        if (-not $raw) {
            continue
        }
        $userHome = [Environment]::ExpandEnvironmentVariables([string]$raw).TrimEnd('\')
        if ($seen.ContainsKey($userHome)) {
            continue
        }
        $seen[$userHome] = $true
        $account = Resolve-AccountName $sid
        $name = $userHome.Substring($userHome.LastIndexOf('\') + 1)
        if ($account) {
            $name = $account.Substring($account.LastIndexOf('\') + 1)
        }
        $users.Add(@{
                user = $name; account = $account; sid = $sid; home = $userHome
                appdata = Get-AppDataFolder $sid $userHome $name
            })
    }
    if ($users.Count -gt 0) {
        return , $users
    }
    $usersDir = $env:SystemDrive + '\Users'
    try {
        $folders = (New-Object -TypeName IO.DirectoryInfo -ArgumentList $usersDir).GetDirectories()
    }
    catch {
        $Errors.Add(('cannot list {0}: {1}' -f $usersDir, (Get-InnerException $_).Message))
        return , $users
    }
    foreach ($folder in $folders) {
        if ((Test-ReparsePoint $folder) -or $NotUserFolders -contains $folder.Name) {
            continue
        }
        $users.Add(@{ user = $folder.Name; account = $null; sid = $null; home = $folder.FullName; appdata = $null })
    }
    return , $users
}

function Select-User {
    param($Users, $Names, $Errors)
    if ($null -eq $Names) {
        return , $Users
    }
    $picked = New-Object -TypeName 'Collections.Generic.List[object]'
    foreach ($name in $Names) {
        $matched = $false
        foreach ($user in $Users) {
            $leaf = $user.home.Substring($user.home.LastIndexOf('\') + 1)
            if ($user.user -ieq $name -or $user.account -ieq $name -or $leaf -ieq $name) {
                $matched = $true
                if (-not $picked.Contains($user)) {
                    $picked.Add($user)
                }
            }
        }
        if (-not $matched) {
            $Errors.Add(('no local user named {0}' -f $name))
        }
    }
    return , $picked
}

function Test-Below {
    param([string]$Path, [string]$Folder)
    return $Path.StartsWith($Folder.TrimEnd('\') + '\', [StringComparison]::OrdinalIgnoreCase)
}

function Add-UserRoot {
    # Each root candidate joined to the user's home; AppData\Roaming may be
    # redirected elsewhere, such as a network share.
    param($User, $Candidates, [long]$MaxBytes, $Roots, $Profiles, $Errors)
    $owner = @{ user = $User.user; sid = $User.sid }
    $roaming = Join-Native $User.home 'AppData\Roaming'
    foreach ($candidate in $Candidates) {
        $rel = [string](Get-Field $candidate 'rel')
        $kind = [string](Get-Field $candidate 'kind')
        $base = $User.home
        $redirected = $false
        if ($rel -match '^AppData[/\\]Roaming([/\\]|$)' -and $User.appdata -and $User.appdata -ne $roaming) {
            $base = $User.appdata
            $rel = $rel.Substring('AppData/Roaming'.Length)
            $redirected = $base.StartsWith('\\')
        }
        try {
            Add-Root $base $rel $kind $owner $MaxBytes $redirected $Roots $Profiles
        }
        catch {
            $message = (Get-InnerException $_).Message
            if ($redirected) {
                $Errors.Add(('{0}: AppData is redirected to the network share {1}, which this session cannot read: {2}' -f $User.user, $base, $message))
            }
            else {
                $Errors.Add(('{0}: cannot read {1}: {2}' -f $User.user, (Join-Native $base $rel), $message))
            }
        }
    }
}

function Add-Explicit {
    param([string]$Path, $Users, [long]$MaxBytes, $Roots, $Profiles, $Errors)
    $native = $Path.Replace('/', '\')
    if (-not ($native -match '^[A-Za-z]:\\' -or $native.StartsWith('\\'))) {
        $Errors.Add(('{0} is not an absolute Windows path' -f $Path))
        return
    }
    $native = $native.TrimEnd('\')
    $slash = $native.LastIndexOf('\')
    $parent = $native.Substring(0, $slash)
    $info = Get-ChildEntry $parent $native.Substring($slash + 1)
    if ($null -eq $info) {
        $Errors.Add(('{0}: not found' -f $native))
        return
    }
    if (Test-ReparsePoint $info) {
        $Errors.Add(('{0} is a symbolic link; give the real folder' -f $native))
        return
    }
    if (-not ($info -is [IO.DirectoryInfo])) {
        $Errors.Add(('{0} is not a folder' -f $native))
        return
    }
    $owner = @{ user = $null; sid = $null }
    foreach ($user in $Users) {
        if (Test-Below $native $user.home) {
            $owner = @{ user = $user.user; sid = $user.sid }
        }
    }
    $ini = Get-ChildEntry $info.FullName 'profiles.ini'
    $prefs = Get-ChildEntry $info.FullName 'prefs.js'
    if ($null -ne $ini -and -not ($ini -is [IO.DirectoryInfo]) -and $null -eq $prefs) {
        Add-Root $parent $info.Name 'explicit' $owner $MaxBytes $false $Roots $Profiles
    }
    elseif ($null -ne $prefs) {
        $Profiles.Add((Get-ProfileSnapshot $parent @($info.Name) $null $owner $true $MaxBytes $false))
    }
    else {
        $Errors.Add(('{0} holds neither prefs.js nor profiles.ini' -f $native))
    }
}

function Invoke-Collect {
    param($Request)
    $maxBytes = [long]$DefaultMaxFileBytes
    if (Get-Field $Request 'max_file_bytes') {
        $maxBytes = [long](Get-Field $Request 'max_file_bytes')
    }
    $errors = New-Object -TypeName 'Collections.Generic.List[string]'
    $roots = New-Object -TypeName 'Collections.Generic.List[object]'
    $profiles = New-Object -TypeName 'Collections.Generic.List[object]'
    $response = @{ protocol = $Protocol; os = 'windows'; sep = '\'; errors = $errors; roots = $roots; profiles = $profiles }
    $users = Get-UserHome $errors
    $paths = @(Get-Field $Request 'profiles')
    if ($paths.Count -gt 0) {
        foreach ($path in $paths) {
            try {
                Add-Explicit ([string]$path) $users $maxBytes $roots $profiles $errors
            }
            catch {
                $errors.Add(('{0}: {1}' -f $path, (Get-InnerException $_).Message))
            }
        }
        return $response
    }
    $candidates = @(Get-Field $Request 'root_candidates')
    $names = $null
    if ($Request.ContainsKey('users') -and $null -ne $Request['users']) {
        $names = @($Request['users'])
    }
    foreach ($user in (Select-User $users $names $errors)) {
        Add-UserRoot $user $candidates $maxBytes $roots $profiles $errors
    }
    return $response
}

try {
    Add-Type -AssemblyName System.Web.Extensions
    $serializer = New-Object -TypeName Web.Script.Serialization.JavaScriptSerializer
    $serializer.MaxJsonLength = [int]::MaxValue
    $request = $serializer.DeserializeObject([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($RequestB64)))
    $response = Invoke-Collect $request
}
catch {
    $response = @{
        protocol = $Protocol
        fatal = 'collect.ps1 line {0}: {1}' -f $_.InvocationInfo.ScriptLineNumber, (Get-InnerException $_).Message
    }
}
$json = ConvertTo-Json -InputObject $response -Depth 32 -Compress
'RECTORAT-TB-RESPONSE ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json))
