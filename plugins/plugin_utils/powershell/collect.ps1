# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Collect: a read-only snapshot of a Windows host's Thunderbird profiles.
# Windows PowerShell 5.1, run after prelude.ps1 (which reads the request and
# prints the response). Twin of plugins/module_utils/collect.py (POSIX) and
# of tests/windows/twin.py; the protocol is in docs/design.md. No Thunderbird
# logic here: only which folders to look in and which files to read.

$ProfileFiles = @('prefs.js', 'user.js', 'folderCache.json', 'compatibility.ini')
$RootFiles = @('profiles.ini', 'installs.ini')
$StoreDirs = @('ImapMail', 'Mail')
$MaxTreeEntries = 200000
# Budgets of one run (the request may lower or raise them): the response is
# held in memory at about ten times the bytes read, and WinRM caps a shell's
# memory (MaxMemoryPerShellMB, 1024 by default).
$DefaultBudget = @{
    max_profile_bytes = 33554432; max_run_bytes = 67108864; max_run_entries = 400000
    max_profiles = 500; max_seconds = 300
}
$ProfileListKey = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList'
$ShellFoldersKey = 'Software\Microsoft\Windows\CurrentVersion\Explorer\User Shell Folders'
$NotUserFolders = @('Public', 'Default', 'Default User', 'All Users')

function Join-Native {
    param([string]$Dir, [string]$Rel)
    return $Dir.TrimEnd('\') + '\' + $Rel.Replace('/', '\')
}

function ConvertTo-UnixTime {
    param([datetime]$Utc)
    return ($Utc.Ticks - 621355968000000000) / 10000000.0
}

function Get-FileRecord {
    # FILE of the protocol for $Name in $Dir; $null when absent. Its bytes
    # count against the profile's and the run's budgets ($Budget).
    param([string]$Dir, [string]$Name, [long]$MaxBytes, [string]$FolderOwner)
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
    $limit = [Math]::Min($MaxBytes, [Math]::Min($Budget.profile_left, $Budget.run_left))
    if ($info.Length -gt $limit) {
        $record.error = '{0} not read: the read budget of the profile ({1} bytes) or of the run ({2} bytes) is spent' -f @(
            $Name, $Budget.max_profile_bytes, $Budget.max_run_bytes)
        return $record
    }
    try {
        $read = Read-RawFile $info.FullName $limit
    }
    catch {
        $record.error = 'cannot read {0}: {1}' -f $Name, (Get-InnerException $_).Message
        return $record
    }
    if ($null -eq $read.data) {
        $record.error = '{0} grew past {1} bytes while it was read' -f $Name, $limit
        return $record
    }
    if (Test-ForeignOwner $read.owner $FolderOwner) {
        $record.error = '{0} is owned by {1}, not by the owner of its folder ({2})' -f $Name, $read.owner, $FolderOwner
        return $record
    }
    $Budget.profile_left -= $read.data.Length
    $Budget.run_left -= $read.data.Length
    $record.size = $read.data.Length
    $record.sha256 = Get-Sha256Hex $read.data
    $record.b64 = [Convert]::ToBase64String($read.data)
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
        $path = ConvertTo-LongPath $lock.FullName
        $stream = [IO.File]::Open($path, [IO.FileMode]::Open, [IO.FileAccess]::ReadWrite, [IO.FileShare]::None)
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
            $children = (New-Object -TypeName IO.DirectoryInfo -ArgumentList (ConvertTo-LongPath $item[1])).GetFileSystemInfos()
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
            $Budget.entries_left -= 1
            if ($Entries.Count -gt $MaxTreeEntries -or $Budget.entries_left -lt 0) {
                $Errors.Add(('more than {0} files below the profile or {1} in the run; listing stopped' -f @(
                            $MaxTreeEntries, $Budget.max_run_entries)))
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
    param([string]$ProfileDir, $Tree, $CacheRecord, [long]$MaxBytes, [string]$FolderOwner)
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
        $folder = Join-Native $ProfileDir $rel.Substring(0, $slash)
        $out[$rel] = Get-FileRecord $folder $rel.Substring($slash + 1) $MaxBytes $FolderOwner
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
    try {
        $where = Resolve-Below $Base $Parts
    }
    catch {
        $snapshot.error = 'cannot open profile folder: ' + (Get-InnerException $_).Message
        return $snapshot
    }
    if ($null -ne $where.symlink) {
        $snapshot.symlink = $where.symlink
        return $snapshot
    }
    if ($null -eq $where.path) {
        $snapshot.error = 'cannot open profile folder: not found'
        return $snapshot
    }
    $snapshot.path = $where.path
    $Budget.profiles_left -= 1
    if ($Budget.profiles_left -lt 0) {
        $snapshot.error = 'not read: this host has more than {0} profiles' -f $Budget.max_profiles
        return $snapshot
    }
    if ($Budget.clock.Elapsed.TotalSeconds -gt $Budget.max_seconds) {
        $snapshot.error = 'not read: the time budget of the host ({0} s) is spent' -f $Budget.max_seconds
        return $snapshot
    }
    $Budget.profile_left = $Budget.max_profile_bytes
    try {
        $folderOwner = Get-FolderOwner $where.path
        $lock = Test-ProfileLock $where.path
        $snapshot.running = $lock.running
        $snapshot.lock_error = $lock.error
        foreach ($name in $ProfileFiles) {
            $snapshot.files[$name] = Get-FileRecord $where.path $name $MaxBytes $folderOwner
        }
        $treeErrors = New-Object -TypeName 'Collections.Generic.List[string]'
        foreach ($top in $StoreDirs) {
            Add-TreeEntry $where.path $top $snapshot.tree $treeErrors
        }
        if ($treeErrors.Count -gt 0) {
            $snapshot.tree_errors = $treeErrors
        }
        $cache = $snapshot.files['folderCache.json']
        $snapshot.msf = Get-MsfRecord $where.path $snapshot.tree $cache $MaxBytes $folderOwner
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
            $children = (New-Object -TypeName IO.DirectoryInfo -ArgumentList (ConvertTo-LongPath $dir[0])).GetDirectories()
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
    $Budget.profile_left = $Budget.max_profile_bytes
    $rootOwner = Get-FolderOwner $where.path
    foreach ($name in $RootFiles) {
        $files[$name] = Get-FileRecord $where.path $name $MaxBytes $rootOwner
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
    # their hive is loaded (they are logged on); $null otherwise. The key is
    # closed at once: an open handle can keep the hive loaded.
    param([string]$Sid, [string]$UserHome, [string]$UserName)
    if (-not $Sid) {
        return $null
    }
    $key = $null
    try {
        $key = [Microsoft.Win32.Registry]::Users.OpenSubKey($Sid + '\' + $ShellFoldersKey)
        if ($null -eq $key) {
            return $null
        }
        $raw = $key.GetValue('AppData', $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    }
    catch {
        return $null
    }
    finally {
        if ($null -ne $key) {
            $key.Dispose()
        }
    }
    if (-not $raw) {
        return $null
    }
    # The user's own variables, not those of this session.
    $value = ([string]$raw) -ireplace '%USERPROFILE%', $UserHome.Replace('$', '$$')
    $value = $value -ireplace '%USERNAME%', $UserName.Replace('$', '$$')
    return [Environment]::ExpandEnvironmentVariables($value).TrimEnd('\')
}

function Get-ProfileImagePath {
    # ProfileImagePath of one ProfileList entry; its key closed at once.
    param($List, [string]$Sid)
    $key = $List.OpenSubKey($Sid)
    if ($null -eq $key) {
        return $null
    }
    try {
        return $key.GetValue('ProfileImagePath')
    }
    finally {
        $key.Dispose()
    }
}

function Get-UserHome {
    # Every user profile of the registry's ProfileList (local, domain and
    # Azure AD accounts), else every folder of C:\Users.
    param($Errors)
    $users = New-Object -TypeName 'Collections.Generic.List[object]'
    $seen = @{}
    $list = $null
    try {
        $list = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey($ProfileListKey)
        $sids = @()
        if ($null -ne $list) {
            $sids = $list.GetSubKeyNames()
        }
        foreach ($sid in $sids) {
            if ($sid -notmatch '^S-1-(5-21|12-1)-') {
                continue
            }
            $raw = Get-ProfileImagePath $list $sid
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
    }
    catch {
        $Errors.Add('cannot read the ProfileList of the registry: ' + (Get-InnerException $_).Message)
    }
    finally {
        if ($null -ne $list) {
            $list.Dispose()
        }
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

function Get-PathRoot {
    # C:\ for a path on drive C:, \\server\share for a UNC path.
    param([string]$Path)
    if ($Path.StartsWith('\\')) {
        $names = $Path.Substring(2).Split('\')
        return '\\' + $names[0] + '\' + $names[1]
    }
    return $Path.Substring(0, 2) + '\'
}

function Add-Explicit {
    # A folder the admin names, walked as a discovered one: from the home of
    # its user (else from the root of its drive or share), no component may
    # be a junction or a symbolic link.
    param([string]$Path, $Users, [long]$MaxBytes, $Roots, $Profiles, $Errors)
    $native = $Path.Replace('/', '\')
    if (-not ($native -match '^[A-Za-z]:\\' -or $native.StartsWith('\\'))) {
        $Errors.Add(('{0} is not an absolute Windows path' -f $Path))
        return
    }
    $native = $native.TrimEnd('\')
    $owner = @{ user = $null; sid = $null }
    $base = Get-PathRoot $native
    foreach ($user in $Users) {
        if (Test-Below $native $user.home) {
            $owner = @{ user = $user.user; sid = $user.sid }
            $base = $user.home
        }
    }
    $parts = @($native.Substring($base.TrimEnd('\').Length).Split('\') | Where-Object { $_ })
    $where = Resolve-Below $base $parts
    if ($null -ne $where.symlink) {
        $Errors.Add(('{0}: {1} is a junction or a symbolic link; give the real folder' -f $native, $where.symlink))
        return
    }
    if ($null -eq $where.path) {
        $Errors.Add(('{0}: not found, or not a folder' -f $native))
        return
    }
    $ini = Get-ChildEntry $where.path 'profiles.ini'
    $prefs = Get-ChildEntry $where.path 'prefs.js'
    if ($null -ne $ini -and -not ($ini -is [IO.DirectoryInfo]) -and $null -eq $prefs) {
        Add-Root $base ($parts -join '\') 'explicit' $owner $MaxBytes $false $Roots $Profiles
    }
    elseif ($null -ne $prefs) {
        $Profiles.Add((Get-ProfileSnapshot $base $parts $null $owner $true $MaxBytes $false))
    }
    else {
        $Errors.Add(('{0} holds neither prefs.js nor profiles.ini' -f $native))
    }
}

function New-Budget {
    # What this run may still read; profile_left is reset for each profile.
    param($Request)
    $budget = @{ clock = [Diagnostics.Stopwatch]::StartNew() }
    foreach ($name in $DefaultBudget.Keys) {
        $budget[$name] = [long]$DefaultBudget[$name]
        if (Get-Field $Request $name) {
            $budget[$name] = [long](Get-Field $Request $name)
        }
    }
    $budget.profile_left = $budget.max_profile_bytes
    $budget.run_left = $budget.max_run_bytes
    $budget.entries_left = $budget.max_run_entries
    $budget.profiles_left = $budget.max_profiles
    return $budget
}

function Invoke-Collect {
    param($Request)
    $maxBytes = [long]$DefaultMaxFileBytes
    if (Get-Field $Request 'max_file_bytes') {
        $maxBytes = [long](Get-Field $Request 'max_file_bytes')
    }
    # Read by the functions below (PowerShell's scopes are dynamic).
    $Budget = New-Budget $Request
    $errors = New-Object -TypeName 'Collections.Generic.List[string]'
    $roots = New-Object -TypeName 'Collections.Generic.List[object]'
    $profiles = New-Object -TypeName 'Collections.Generic.List[object]'
    $response = @{ protocol = $Protocol; os = 'windows'; sep = '\'; errors = $errors; roots = $roots; profiles = $profiles }
    $users = Get-UserHome $errors
    $paths = Get-ListField $Request 'profiles'
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
    $candidates = Get-ListField $Request 'root_candidates'
    $names = $null
    if ($Request.ContainsKey('users') -and $null -ne $Request['users']) {
        $names = @($Request['users'])
    }
    foreach ($user in (Select-User $users $names $errors)) {
        Add-UserRoot $user $candidates $maxBytes $roots $profiles $errors
    }
    return $response
}

Invoke-Script 'collect' { param($Request) Invoke-Collect $Request }
